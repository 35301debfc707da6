//===- PrecisionAssignment.cpp - Schemes per layer under a budget ---------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Quant/PrecisionAssignment.h"
#include "lattice/Quant/QuantMath.h"
#include "lattice/Support/Json.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

using namespace mlir::lattice;

static llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(message.str());
}

llvm::Expected<PrecisionCandidate>
mlir::lattice::parsePrecisionCandidate(llvm::StringRef text) {
  PrecisionCandidate candidate;
  candidate.name = text.str();
  if (text == "float") {
    candidate.keepFloat = true;
    return candidate;
  }
  auto bad = [&] {
    return fail("candidate '" + text +
                "': expected <bits>/g<group size>, <bits>/channel or float");
  };
  auto [bits, layout] = text.split('/');
  unsigned width = 0;
  if (bits.getAsInteger(10, width) || width < 2 || width > 8)
    return bad();
  candidate.weightBits = bits.str();
  if (layout == "channel") {
    candidate.granularity = "channel";
    candidate.scaleType = "f32";
  } else if (layout.consume_front("g") &&
             !layout.getAsInteger(10, candidate.groupSize) &&
             candidate.groupSize > 0 && candidate.groupSize <= INT32_MAX) {
    candidate.granularity = "group";
    candidate.scaleType = "f16";
  } else {
    return bad();
  }
  llvm::Expected<QuantScheme> scheme = parseWeightScheme(
      candidate.weightBits, candidate.granularity, candidate.groupSize,
      /*symmetric=*/true, candidate.scaleType);
  if (!scheme)
    return scheme.takeError();
  candidate.scheme = *scheme;
  return candidate;
}

llvm::Expected<int64_t>
mlir::lattice::getCandidateBits(const PrecisionCandidate &candidate, int64_t n,
                                int64_t k) {
  if (candidate.keepFloat) {
    if (n <= 0 || k <= 0 || n > INT64_MAX / 32 / k)
      return fail("a weight of " + llvm::Twine(n) + " x " + llvm::Twine(k) +
                  " has no size in bits");
    return 32 * n * k;
  }
  llvm::Expected<StorageCost> cost =
      computeStorageCost(candidate.scheme, {n, k});
  if (!cost)
    return cost.takeError();
  return cost->totalBits;
}

llvm::ArrayRef<llvm::StringLiteral>
mlir::lattice::getDefaultPrecisionCandidates() {
  static const llvm::StringLiteral candidates[] = {
      "2/g32", "3/g32", "3/g128", "4/g32", "4/g128", "8/channel"};
  return candidates;
}

/// `value` as JSON text, for messages.
static std::string printJson(const llvm::json::Value &value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << value;
  return text;
}

llvm::Expected<SensitivityFile>
mlir::lattice::readSensitivityFile(llvm::StringRef path) {
  auto error = [&](const llvm::Twine &what) {
    return fail("sensitivity file '" + path + "': " + what);
  };
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return error("cannot be read: " + buffer.getError().message());
  llvm::Expected<llvm::json::Value> parsed = parseJson((*buffer)->getBuffer());
  if (!parsed)
    return error("not JSON: " + llvm::toString(parsed.takeError()));
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return error("expected a JSON object");
  SensitivityFile file;
  bool hasVersion = false, hasCandidates = false, hasLayers = false;
  for (const auto &[key, value] : *root) {
    if (key == "version") {
      if (value.getAsInteger() != std::optional<int64_t>(1))
        return error("\"version\" is " + printJson(value) + "; expected 1");
      hasVersion = true;
    } else if (key == "metric") {
      std::optional<llvm::StringRef> metric = value.getAsString();
      if (!metric)
        return error("\"metric\" is " + printJson(value) +
                     "; expected a string");
      file.metric = metric->str();
    } else if (key == "samples") {
      std::optional<int64_t> samples = value.getAsInteger();
      if (!samples || *samples < 0)
        return error("\"samples\" is " + printJson(value) +
                     "; expected a non-negative integer");
      file.samples = *samples;
    } else if (key == "candidates") {
      const llvm::json::Array *array = value.getAsArray();
      if (!array || array->empty())
        return error("\"candidates\" is " + printJson(value) +
                     "; expected a non-empty array of candidate schemes");
      llvm::StringSet<> seen;
      for (const llvm::json::Value &entry : *array) {
        std::optional<llvm::StringRef> name = entry.getAsString();
        if (!name)
          return error("candidate " + printJson(entry) + " is not a string");
        if (llvm::Expected<PrecisionCandidate> parsed =
                parsePrecisionCandidate(*name);
            !parsed)
          return error(llvm::toString(parsed.takeError()));
        if (!seen.insert(*name).second)
          return error("candidate '" + *name + "' appears twice");
        file.candidates.push_back(name->str());
      }
      hasCandidates = true;
    } else if (key == "layers") {
      hasLayers = true;
    } else {
      return error("unknown key \"" + key.str() +
                   "\" (known: version, metric, samples, candidates, "
                   "layers)");
    }
  }
  if (!hasVersion)
    return error("has no \"version\"");
  if (!hasCandidates)
    return error("has no \"candidates\"");
  if (!hasLayers)
    return error("has no \"layers\"");
  const llvm::json::Array *layers = root->getArray("layers");
  if (!layers)
    return error("\"layers\" is " + printJson(*root->get("layers")) +
                 "; expected an array");
  llvm::StringSet<> names;
  for (auto [index, value] : llvm::enumerate(*layers)) {
    std::string where = "layers[" + std::to_string(index) + "]";
    const llvm::json::Object *object = value.getAsObject();
    if (!object)
      return error(where + " is " + printJson(value) + "; expected an object");
    SensitivityFile::Layer layer;
    layer.errors.assign(file.candidates.size(),
                        std::numeric_limits<double>::quiet_NaN());
    bool hasName = false;
    for (const auto &[key, entry] : *object) {
      if (key == "name") {
        std::optional<llvm::StringRef> name = entry.getAsString();
        if (!name)
          return error(where + ".name is " + printJson(entry) +
                       "; expected a string");
        if (!names.insert(*name).second)
          return error("layer '" + *name + "' appears twice");
        layer.name = name->str();
        hasName = true;
      } else if (key == "errors") {
        const llvm::json::Object *errors = entry.getAsObject();
        if (!errors)
          return error(where + ".errors is " + printJson(entry) +
                       "; expected an object");
        for (const auto &[candidate, measured] : *errors) {
          auto it = llvm::find(file.candidates, candidate.str());
          if (it == file.candidates.end())
            return error(where + ".errors has candidate '" + candidate.str() +
                         "', which \"candidates\" does not list");
          std::optional<double> number = measured.getAsNumber();
          if (!number || !std::isfinite(*number) || *number < 0)
            return error(where + ".errors[\"" + candidate.str() + "\"] is " +
                         printJson(measured) +
                         "; expected a non-negative number");
          layer.errors[it - file.candidates.begin()] = *number;
        }
      } else {
        return error(where + " has unknown key \"" + key.str() +
                     "\" (known: name, errors)");
      }
    }
    if (!hasName)
      return error(where + " has no \"name\"");
    file.layers.push_back(std::move(layer));
  }
  return file;
}

llvm::Error mlir::lattice::writeSensitivityFile(llvm::StringRef path,
                                                const SensitivityFile &file) {
  llvm::json::Array layers;
  for (const SensitivityFile::Layer &layer : file.layers) {
    llvm::json::Object errors;
    for (auto [candidate, error] :
         llvm::zip_equal(file.candidates, layer.errors))
      if (std::isfinite(error))
        errors[candidate] = error;
    layers.push_back(llvm::json::Object{{"name", layer.name},
                                        {"errors", std::move(errors)}});
  }
  llvm::json::Array candidates;
  for (const std::string &candidate : file.candidates)
    candidates.push_back(candidate);
  llvm::json::Object root{{"version", 1},
                          {"metric", file.metric},
                          {"samples", file.samples},
                          {"candidates", std::move(candidates)},
                          {"layers", std::move(layers)}};
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return fail("cannot write sensitivity file '" + path +
                "': " + ec.message());
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  os.close();
  if (os.has_error())
    return fail("cannot write sensitivity file '" + path +
                "': " + os.error().message());
  return llvm::Error::success();
}

/// The index of the cheapest option of `layer` (the first on ties).
static unsigned cheapestOption(const PrecisionLayer &layer) {
  unsigned best = 0;
  for (unsigned k = 1; k < layer.options.size(); ++k)
    if (layer.options[k].bits < layer.options[best].bits)
      best = k;
  return best;
}

double mlir::lattice::getSmallestBudget(llvm::ArrayRef<PrecisionLayer> layers) {
  double sum = 0;
  for (const PrecisionLayer &layer : layers)
    sum += layer.options[cheapestOption(layer)].bits;
  return sum;
}

double mlir::lattice::getLargestBudget(llvm::ArrayRef<PrecisionLayer> layers) {
  double sum = 0;
  for (const PrecisionLayer &layer : layers) {
    double largest = 0;
    for (const PrecisionOption &option : layer.options)
      largest = std::max(largest, option.bits);
    sum += largest;
  }
  return sum;
}

PrecisionOption
mlir::lattice::evaluateAssignment(llvm::ArrayRef<PrecisionLayer> layers,
                                  llvm::ArrayRef<unsigned> choice) {
  PrecisionOption total;
  for (auto [layer, k] : llvm::zip_equal(layers, choice)) {
    total.bits += layer.options[k].bits;
    total.error += layer.options[k].error;
  }
  return total;
}

llvm::Error
mlir::lattice::checkAssignmentProblem(llvm::ArrayRef<PrecisionLayer> layers,
                                      double budgetBits) {
  if (layers.empty())
    return fail("no layer to assign a precision to");
  for (const PrecisionLayer &layer : layers) {
    if (layer.options.empty())
      return fail("layer '" + layer.name + "' has no candidate scheme");
    if (layer.options.size() > std::numeric_limits<uint8_t>::max())
      return fail("layer '" + layer.name + "' has more than 255 candidates");
    for (const PrecisionOption &option : layer.options)
      if (!std::isfinite(option.bits) || option.bits < 0 ||
          !std::isfinite(option.error) || option.error < 0)
        return fail("layer '" + layer.name +
                    "': a candidate's bits or error is negative or not "
                    "finite");
  }
  if (std::isnan(budgetBits))
    return fail("the budget is not a number");
  double smallest = getSmallestBudget(layers);
  if (budgetBits < smallest)
    return fail("a budget of " + formatNumber(budgetBits) +
                " bits is below the smallest feasible one, " +
                formatNumber(smallest) +
                " bits (every layer's cheapest "
                "candidate)");
  return llvm::Error::success();
}

llvm::Expected<std::vector<unsigned>>
mlir::lattice::assignPrecisionExact(llvm::ArrayRef<PrecisionLayer> layers,
                                    double budgetBits, int64_t maxUnits) {
  if (llvm::Error error = checkAssignmentProblem(layers, budgetBits))
    return std::move(error);
  if (maxUnits < 1)
    return fail("the knapsack needs at least one unit");
  // A budget above the dearest assignment (infinite, say) is that one's.
  budgetBits = std::min(budgetBits, getLargestBudget(layers));
  // Costs above each layer's cheapest option: the cheapest assignment costs
  // 0 units, and fits whenever the budget is feasible. The unit is the
  // greatest common divisor of those costs when they are whole bits (a
  // multiple of it when the budget holds more than maxUnits of them), else
  // a bit.
  double slack = budgetBits - getSmallestBudget(layers);
  int64_t divisor = 0;
  for (const PrecisionLayer &layer : layers) {
    double floor = layer.options[cheapestOption(layer)].bits;
    for (const PrecisionOption &option : layer.options) {
      double cost = option.bits - floor;
      if (cost != std::floor(cost) || cost >= 0x1p62) {
        divisor = 1;
        break;
      }
      divisor = std::gcd(divisor, int64_t(cost));
    }
  }
  double unit = std::max<double>(divisor, 1);
  if (slack / unit > double(maxUnits))
    unit *= std::ceil(slack / unit / double(maxUnits));
  int64_t capacity =
      std::min<int64_t>(maxUnits, int64_t(std::floor(slack / unit + 1e-9)));
  struct Cell {
    double error;
    int64_t units;
  };
  auto better = [](const Cell &a, const Cell &b) {
    return a.error < b.error || (a.error == b.error && a.units < b.units);
  };
  const double infinity = std::numeric_limits<double>::infinity();
  // best[b]: the least error (then the fewest units) of the layers so far
  // within b units; choice[l][b]: layer l's option there.
  std::vector<Cell> best(capacity + 1, Cell{0, 0}), next(capacity + 1);
  std::vector<std::vector<uint8_t>> choice(layers.size());
  for (auto [l, layer] : llvm::enumerate(layers)) {
    double floor = layer.options[cheapestOption(layer)].bits;
    std::vector<int64_t> cost;
    for (const PrecisionOption &option : layer.options)
      cost.push_back(int64_t(std::ceil((option.bits - floor) / unit - 1e-9)));
    choice[l].assign(capacity + 1, 0);
    for (int64_t b = 0; b <= capacity; ++b) {
      Cell cell{infinity, 0};
      for (auto [k, option] : llvm::enumerate(layer.options)) {
        if (cost[k] > b || best[b - cost[k]].error == infinity)
          continue;
        Cell candidate{best[b - cost[k]].error + option.error,
                       best[b - cost[k]].units + cost[k]};
        if (better(candidate, cell)) {
          cell = candidate;
          choice[l][b] = uint8_t(k);
        }
      }
      next[b] = cell;
    }
    std::swap(best, next);
  }
  std::vector<unsigned> result(layers.size());
  int64_t b = capacity;
  for (size_t l = layers.size(); l-- > 0;) {
    unsigned k = choice[l][b];
    result[l] = k;
    double floor = layers[l].options[cheapestOption(layers[l])].bits;
    b -= int64_t(std::ceil((layers[l].options[k].bits - floor) / unit - 1e-9));
  }
  return result;
}

/// Moves layers of `choice` to cheaper options, least error added per bit
/// saved first, until it fits `budgetBits` (which the cheapest assignment
/// does).
static void repair(llvm::ArrayRef<PrecisionLayer> layers, double budgetBits,
                   std::vector<unsigned> &choice) {
  double bits = evaluateAssignment(layers, choice).bits;
  while (bits > budgetBits) {
    double bestRate = std::numeric_limits<double>::infinity();
    size_t bestLayer = 0;
    unsigned bestOption = 0;
    for (auto [l, layer] : llvm::enumerate(layers)) {
      const PrecisionOption &now = layer.options[choice[l]];
      for (auto [k, option] : llvm::enumerate(layer.options)) {
        if (option.bits >= now.bits)
          continue;
        double rate = (option.error - now.error) / (now.bits - option.bits);
        if (rate < bestRate) {
          bestRate = rate;
          bestLayer = l;
          bestOption = unsigned(k);
        }
      }
    }
    if (bestRate == std::numeric_limits<double>::infinity())
      return; // every layer at its cheapest: the budget was checked.
    bits += layers[bestLayer].options[bestOption].bits -
            layers[bestLayer].options[choice[bestLayer]].bits;
    choice[bestLayer] = bestOption;
  }
}

llvm::Expected<std::vector<unsigned>> mlir::lattice::assignPrecisionAnnealed(
    llvm::ArrayRef<PrecisionLayer> layers, double budgetBits,
    RelaxedObjective relaxed, DiscreteObjective discrete,
    const AnnealingOptions &options) {
  if (llvm::Error error = checkAssignmentProblem(layers, budgetBits))
    return std::move(error);
  if (options.parallel == 0)
    return fail("annealing needs at least one parallel solution");
  budgetBits = std::min(budgetBits, getLargestBudget(layers));
  size_t numLayers = layers.size();
  unsigned parallel = options.parallel;
  // The cheapest assignment: the fallback, and the objective's scale.
  std::vector<unsigned> bestChoice(numLayers);
  for (auto [l, layer] : llvm::enumerate(layers))
    bestChoice[l] = cheapestOption(layer);
  double bestError = discrete(bestChoice);
  double scale = bestError > 0 ? bestError : 1.0;
  double budget = budgetBits > 0 ? budgetBits : 1.0;

  // theta[s][l][c]: the logits of solution s; Adam's moments alongside.
  using Shape = std::vector<std::vector<double>>;
  auto shaped = [&] {
    Shape shape(numLayers);
    for (auto [l, layer] : llvm::enumerate(layers))
      shape[l].assign(layer.options.size(), 0.0);
    return shape;
  };
  std::mt19937_64 random(options.seed);
  std::normal_distribution<double> normal(0.0, 0.1);
  std::vector<Shape> theta(parallel, shaped()), m(parallel, shaped()),
      v(parallel, shaped()), p(parallel, shaped()), grad(parallel, shaped());
  for (Shape &solution : theta)
    for (std::vector<double> &logits : solution)
      for (double &x : logits)
        x = normal(random);
  const double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  std::vector<unsigned> rounded(numLayers);
  for (unsigned step = 0; step < options.steps; ++step) {
    double gamma = options.gammaMin + (options.gammaMax - options.gammaMin) *
                                          double(step) /
                                          double(std::max(1u, options.steps));
    // Probabilities, and the objective's and the penalty's gradients.
    for (unsigned s = 0; s < parallel; ++s) {
      double bits = 0;
      for (size_t l = 0; l < numLayers; ++l) {
        std::vector<double> &probability = p[s][l];
        double top = *std::max_element(theta[s][l].begin(), theta[s][l].end());
        double sum = 0;
        for (auto [c, x] : llvm::enumerate(theta[s][l]))
          sum += probability[c] = std::exp(x - top);
        for (double &x : probability)
          x /= sum;
        for (auto [c, x] : llvm::enumerate(probability))
          bits += x * layers[l].options[c].bits;
        std::fill(grad[s][l].begin(), grad[s][l].end(), 0.0);
      }
      relaxed(p[s], grad[s]);
      double over = std::max(0.0, (bits - budgetBits) / budget);
      for (size_t l = 0; l < numLayers; ++l)
        for (size_t c = 0; c < grad[s][l].size(); ++c) {
          grad[s][l][c] /= scale;
          grad[s][l][c] +=
              options.penalty * 2 * over * layers[l].options[c].bits / budget;
          // The entropy term gamma * (1 - sum_c p_c^2), per layer.
          grad[s][l][c] += gamma * -2 * p[s][l][c] / double(numLayers);
        }
    }
    // The diversity term: -diversity times the mean over (l, c) of the
    // standard deviation of p[.][l][c] over the parallel solutions.
    if (parallel > 1 && options.diversity != 0) {
      size_t cells = 0;
      for (const PrecisionLayer &layer : layers)
        cells += layer.options.size();
      for (size_t l = 0; l < numLayers; ++l)
        for (size_t c = 0; c < layers[l].options.size(); ++c) {
          double mean = 0, var = 0;
          for (unsigned s = 0; s < parallel; ++s)
            mean += p[s][l][c];
          mean /= parallel;
          for (unsigned s = 0; s < parallel; ++s)
            var += (p[s][l][c] - mean) * (p[s][l][c] - mean);
          double sd = std::sqrt(var / parallel);
          if (sd < 1e-12)
            continue;
          for (unsigned s = 0; s < parallel; ++s)
            grad[s][l][c] -=
                options.diversity * (p[s][l][c] - mean) / (sd * double(cells));
        }
    }
    // Through the softmax to the logits, then Adam.
    double correction1 = 1 - std::pow(beta1, step + 1),
           correction2 = 1 - std::pow(beta2, step + 1);
    for (unsigned s = 0; s < parallel; ++s)
      for (size_t l = 0; l < numLayers; ++l) {
        double dot = 0;
        for (size_t c = 0; c < p[s][l].size(); ++c)
          dot += p[s][l][c] * grad[s][l][c];
        for (size_t c = 0; c < p[s][l].size(); ++c) {
          double g = p[s][l][c] * (grad[s][l][c] - dot);
          m[s][l][c] = beta1 * m[s][l][c] + (1 - beta1) * g;
          v[s][l][c] = beta2 * v[s][l][c] + (1 - beta2) * g * g;
          theta[s][l][c] -= options.learningRate * (m[s][l][c] / correction1) /
                            (std::sqrt(v[s][l][c] / correction2) + epsilon);
        }
      }
    // Each solution rounded to its most probable options and repaired.
    for (unsigned s = 0; s < parallel; ++s) {
      for (size_t l = 0; l < numLayers; ++l)
        rounded[l] = unsigned(std::max_element(p[s][l].begin(), p[s][l].end()) -
                              p[s][l].begin());
      repair(layers, budgetBits, rounded);
      double error = discrete(rounded);
      if (error < bestError) {
        bestError = error;
        bestChoice = rounded;
      }
    }
  }
  return bestChoice;
}

llvm::Expected<std::vector<unsigned>>
mlir::lattice::assignPrecisionAnnealed(llvm::ArrayRef<PrecisionLayer> layers,
                                       double budgetBits,
                                       const AnnealingOptions &options) {
  auto relaxed = [&](llvm::ArrayRef<std::vector<double>> probability,
                     llvm::MutableArrayRef<std::vector<double>> gradient) {
    double error = 0;
    for (auto [l, layer] : llvm::enumerate(layers))
      for (auto [c, option] : llvm::enumerate(layer.options)) {
        error += probability[l][c] * option.error;
        gradient[l][c] += option.error;
      }
    return error;
  };
  auto discrete = [&](llvm::ArrayRef<unsigned> choice) {
    return evaluateAssignment(layers, choice).error;
  };
  return assignPrecisionAnnealed(layers, budgetBits, relaxed, discrete,
                                 options);
}
