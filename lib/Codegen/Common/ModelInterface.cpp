//===- ModelInterface.cpp - The C API of a compiled model -----------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "lattice/Codegen/ModelInterface.h"
#include "lattice/Codegen/Passes.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Support/Safetensors.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace mlir::lattice;

static std::string getCType(StringRef dtype) {
  return llvm::StringSwitch<std::string>(dtype)
      .Case("F32", "float")
      .Cases({"F16", "BF16"}, "uint16_t")
      .Case("I8", "int8_t")
      .Case("I32", "int32_t")
      .Default("uint8_t");
}

/// Describes a statically shaped tensor of the function signature, or fails
/// with a diagnostic at `loc`.
static FailureOr<ModelTensor> describe(Location loc, Type type,
                                       StringRef name) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!tensorType || !tensorType.hasStaticShape() || tensorType.getRank() > 8)
    return emitError(loc) << "'" << name << "' has type " << type
                          << "; the C ABI takes statically shaped tensors of "
                             "rank 8 or less";
  ModelTensor desc;
  desc.name = name.str();
  desc.dtype =
      mlir::lattice::getSafetensorsDType(tensorType.getElementType()).str();
  if (desc.dtype.empty())
    return emitError(loc) << "'" << name << "' has element type "
                          << tensorType.getElementType()
                          << "; the C ABI takes f32, f16, bf16, i8 or i32";
  desc.shape.assign(tensorType.getShape().begin(), tensorType.getShape().end());
  desc.numBytes =
      tensorType.getNumElements() * (tensorType.getElementTypeBitWidth() / 8);
  return desc;
}

static void writeTensorTable(llvm::raw_ostream &os, StringRef table,
                             ArrayRef<ModelTensor> descs) {
  os << "static const lattice_tensor_info " << table << "[] = {\n";
  for (const ModelTensor &d : descs) {
    os << "  {\"";
    os.write_escaped(d.name); // octal escapes: at most 3 digits in C
    os << "\", LATTICE_" << d.dtype << ", " << d.shape.size() << ", {";
    llvm::interleaveComma(d.shape, os);
    os << "}, " << d.numBytes << "u},\n";
  }
  if (descs.empty())
    os << "  {0, 0, 0, {0}, 0u},\n";
  os << "};\n";
}

static std::string describeShape(const ModelTensor &d) {
  std::string text;
  llvm::raw_string_ostream os(text);
  for (int64_t size : d.shape)
    os << "[" << size << "]";
  return text;
}

/// The name of input `i` or output `i` of `entry` in the C API: its
/// `lattice.name`, else input<i> or output<i>.
static std::string getTensorName(func::FuncOp entry, unsigned i, bool input) {
  auto name = input ? entry.getArgAttrOfType<StringAttr>(i, "lattice.name")
                    : entry.getResultAttrOfType<StringAttr>(i, "lattice.name");
  return name ? name.str() : (input ? "input" : "output") + std::to_string(i);
}

LogicalResult mlir::lattice::verifyModelSignature(func::FuncOp entry) {
  for (auto [i, type] : llvm::enumerate(entry.getArgumentTypes()))
    if (!entry.getArgAttr(i, kStoredWeightAttrName) &&
        failed(describe(entry.getArgument(i).getLoc(), type,
                        getTensorName(entry, i, /*input=*/true))))
      return failure();
  for (auto [i, type] : llvm::enumerate(entry.getResultTypes()))
    if (failed(describe(entry.getLoc(), type,
                        getTensorName(entry, i, /*input=*/false))))
      return failure();
  return success();
}

FailureOr<ModelInterface> mlir::lattice::describeModel(func::FuncOp entry,
                                                       StringRef name) {
  ModelInterface model;
  model.name = name.str();
  for (auto [i, type] : llvm::enumerate(entry.getArgumentTypes())) {
    Location loc = entry.getArgument(i).getLoc();
    if (auto stored =
            entry.getArgAttrOfType<DictionaryAttr>(i, kStoredWeightAttrName)) {
      auto weightName = stored.getAs<StringAttr>("name");
      auto dtype = stored.getAs<StringAttr>("dtype");
      auto shape = stored.getAs<DenseI64ArrayAttr>("shape");
      int64_t elementBytes = dtype ? getSafetensorsDTypeSize(dtype) : 0;
      if (!weightName || !shape || elementBytes == 0)
        return emitError(loc) << "argument " << i << " has a malformed '"
                              << kStoredWeightAttrName << "' attribute";
      ModelTensor weight;
      weight.name = weightName.str();
      weight.dtype = dtype.str();
      weight.shape.assign(shape.asArrayRef().begin(), shape.asArrayRef().end());
      weight.numBytes = elementBytes;
      for (int64_t size : weight.shape)
        weight.numBytes *= uint64_t(size);
      model.weights.push_back(std::move(weight));
      continue;
    }
    if (!model.weights.empty())
      return emitError(loc) << "input " << i << " follows a weight";
    FailureOr<ModelTensor> input =
        describe(loc, type, getTensorName(entry, i, /*input=*/true));
    if (failed(input))
      return failure();
    input->identifier = "input" + std::to_string(i);
    model.inputs.push_back(std::move(*input));
  }
  for (auto [i, type] : llvm::enumerate(entry.getResultTypes())) {
    FailureOr<ModelTensor> output = describe(
        entry.getLoc(), type, getTensorName(entry, i, /*input=*/false));
    if (failed(output))
      return failure();
    output->identifier = "output" + std::to_string(i);
    model.outputs.push_back(std::move(*output));
  }
  // The names live in the C API's tables; LLVM has no use for them.
  for (unsigned i = 0, e = entry.getNumArguments(); i < e; ++i) {
    entry.removeArgAttr(i, "lattice.name");
    entry.removeArgAttr(i, kStoredWeightAttrName);
  }
  for (unsigned i = 0, e = entry.getNumResults(); i < e; ++i)
    entry.removeResultAttr(i,
                           StringAttr::get(entry.getContext(), "lattice.name"));
  return model;
}

/// The typed wrapper's parameters after the model.
static std::string getRunParameters(const ModelInterface &model) {
  std::string params;
  llvm::raw_string_ostream p(params);
  for (const ModelTensor &d : model.inputs)
    p << ", const " << getCType(d.dtype) << " *" << d.identifier << " /* "
      << describeShape(d) << " */";
  for (const ModelTensor &d : model.outputs)
    p << ", " << getCType(d.dtype) << " *" << d.identifier << " /* "
      << describeShape(d) << " */";
  return params;
}

void mlir::lattice::writeModelHeader(llvm::raw_ostream &header,
                                     const ModelInterface &model) {
  StringRef name = model.name;
  std::string guard = name.upper() + "_H";
  header << "/* Generated by lattice-compile. The C API of model '" << name
         << "'. */\n#ifndef " << guard << "\n#define " << guard
         << "\n\n#include \"lattice_runtime.h\"\n\n#ifdef __cplusplus\nextern "
            "\"C\" {\n#endif\n\n"
         << (model.embeddedWeights.empty()
                 ? "/* Maps the weights file and checks it against the model. "
                   "*/\n"
                 : "/* Checks the weights embedded in the library (or, when "
                   "weights_path\n   is not NULL, those of that file) against "
                   "the model. */\n")
         << "lattice_status " << name
         << "_load(const char *weights_path, lattice_model **model);\n\n"
         << "/* Runs the model on row-major buffers. */\n"
         << "lattice_status " << name << "_run(const lattice_model *model"
         << getRunParameters(model) << ");\n\n"
         << "void " << name << "_free(lattice_model *model);\n\n"
         << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
}

void mlir::lattice::writeModelGlue(llvm::raw_ostream &glue,
                                   const ModelInterface &model,
                                   StringRef headerName) {
  StringRef name = model.name;
  std::string symbol = model.getEntrySymbol();
  StringRef embeddedWeights = model.embeddedWeights;
  ArrayRef<ModelTensor> inputs = model.inputs, weights = model.weights,
                        outputs = model.outputs;
  uint64_t workspaceBytes = model.workspaceBytes;
  size_t numArgs =
      inputs.size() + weights.size() + outputs.size() + (workspaceBytes > 0);
  glue << "/* Generated by lattice-compile. */\n#include \"" << headerName
       << "\"\n\nvoid " << symbol << "(";
  for (size_t i = 0; i < numArgs; ++i)
    glue << (i ? ", " : "") << "void *";
  glue << ");\n\nstatic void entry(void **args) {\n  " << symbol << "(";
  for (size_t i = 0; i < numArgs; ++i)
    glue << (i ? ", " : "") << "args[" << i << "]";
  glue << ");\n}\n\n";
  writeTensorTable(glue, "inputs", inputs);
  writeTensorTable(glue, "weights", weights);
  writeTensorTable(glue, "outputs", outputs);
  if (!embeddedWeights.empty()) {
    // The safetensors file, 64-byte aligned in .rodata, so that the runtime
    // uses the tensors in place.
    std::string begin = name.str() + "_weights_begin";
    std::string end = name.str() + "_weights_end";
    glue << "__asm__(\".section .rodata\\n.balign 64\\n.globl " << begin
         << "\\n.hidden " << begin << "\\n"
         << begin << ":\\n.incbin \\\"";
    for (char c : embeddedWeights) {
      if (c == '\\' || c == '"')
        glue << "\\\\\\" << c;
      else
        glue << c;
    }
    glue << "\\\"\\n.globl " << end << "\\n.hidden " << end << "\\n"
         << end << ":\\n.previous\");\n"
         << "extern const unsigned char " << begin << "[], " << end << "[];\n\n"
         << "const void *lattice_embedded_weights_v1(size_t *size) {\n"
         << "  *size = (size_t)(" << end << " - " << begin << ");\n"
         << "  return " << begin << ";\n}\n";
  }
  glue << "\nstatic const lattice_model_info info = {LATTICE_ABI_VERSION, \""
       << name << "\", " << inputs.size() << ", " << outputs.size() << ", "
       << weights.size() << ", inputs, outputs, weights, entry, "
       << (model.cuda ? "LATTICE_DEVICE_CUDA" : "LATTICE_DEVICE_CPU") << ", "
       << workspaceBytes << "u};\n\n"
       << "const lattice_model_info *lattice_model_info_v1(void) { return "
          "&info; }\n\n"
       << "lattice_status " << name
       << "_load(const char *weights_path, lattice_model **model) {\n";
  if (!embeddedWeights.empty())
    glue << "  if (!weights_path) {\n    size_t size;\n"
         << "    const void *data = lattice_embedded_weights_v1(&size);\n"
         << "    return lattice_model_load_memory(&info, data, size, model);\n"
         << "  }\n";
  glue << "  return lattice_model_load(&info, weights_path, model);\n}\n\n"
       << "lattice_status " << name << "_run(const lattice_model *model"
       << getRunParameters(model) << ") {\n  const void *in[] = {";
  for (const ModelTensor &d : inputs)
    glue << d.identifier << ", ";
  glue << "0};\n  void *out[] = {";
  for (const ModelTensor &d : outputs)
    glue << d.identifier << ", ";
  glue << "0};\n  return lattice_model_run(model, in, out);\n}\n\n"
       << "void " << name
       << "_free(lattice_model *model) { lattice_model_free(model); }\n";
}
