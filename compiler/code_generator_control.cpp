// The code generator's traps, fuel charges and deadline checks, function entry and exit,
// blocks and branches, and calls: what it emits per block, branch or call rather than per
// operator (code_generator.cpp has the operators and the value stack).
#include <algorithm>
#include <array>

#include "compiler/code_generator.h"
#include "compiler/runtime_calls.h"
#include "runtime/interpreter_code.h"
#include "runtime/opcodes.h"

namespace kiln::jit {

// ---------------------------------------------------------------------------------------------
// Traps, fuel and deadlines

// Every trap leaves through kiln_jit_trap with the trap's code (or kPendingTrap: a callee's
// trap passing through; kMemoryFault) and where it is, then returns the trap status.
void CodeGenerator::emit_raise(uint32_t code, RuntimeArgument module_offset, uint32_t frame) {
  const RuntimeArgument args[] = {RuntimeArgument::vm(), RuntimeArgument::immediate(code),
                                  RuntimeArgument::immediate(frame), module_offset};
  masm_.call_runtime(reinterpret_cast<const void*>(&kiln_jit_trap), args);
  masm_.return_trapped();
}

// kiln_jit_trap's fourth argument is the module offset (emit_raise).
constexpr size_t kRaiseOffsetArgument = 3;

Label CodeGenerator::raise_stub(uint32_t code, uint32_t module_offset) {
  auto block = std::find_if(raise_blocks_.begin(), raise_blocks_.end(),
                            [code](const auto& entry) { return entry.first == code; });
  if (block == raise_blocks_.end()) {
    raise_blocks_.push_back({code, masm_.new_label()});
    block = raise_blocks_.end() - 1;
  }
  const Label label = masm_.new_label();
  raise_sites_.push_back({label, block->second, module_offset});
  return label;
}

Label CodeGenerator::exception_path(uint32_t module_offset) {
  if (try_tables_.empty()) return pending_trap_stub(module_offset);
  const Label label = masm_.new_label();
  stubs_.push_back([this, label, table = try_tables_.back(), module_offset] {
    masm_.bind(label);
    const RuntimeArgument args[] = {
        RuntimeArgument::vm(),
        RuntimeArgument::immediate(reinterpret_cast<int64_t>(table.catches.get())),
        RuntimeArgument::slot_address(0)};
    masm_.call_runtime(reinterpret_cast<const void*>(&kiln_jit_catch), args);
    // Every value register is free here (the site spilled them), pinned locals' aside.
    const Reg which = general_pool_.front();
    masm_.move_result(which);
    std::vector<Label> landings;
    for (size_t k = 0; k < table.landings.size(); ++k) {
      landings.push_back(masm_.new_label());
      masm_.branch_if_compare(Condition::kEq, Width::k32, which,
                              Source::of_immediate(static_cast<int64_t>(k + 1)), landings.back());
    }
    emit_raise(kPendingTrap, module_offset, function_index_);  // no catch takes it
    // A catch is a branch to its label from the site: the site saved the pinned locals (as
    // before any call), and the label's values are in its cells; the label's own pinned
    // locals are loaded.
    for (size_t k = 0; k < table.landings.size(); ++k) {
      masm_.bind(landings[k]);
      if (table.landings[k].returns) {
        masm_.return_from_function();
      } else {
        restore_pinned(table.landings[k].pinned_set);
        masm_.jump(table.landings[k].label);
      }
    }
  });
  return label;
}

void CodeGenerator::open_try_table(const Instruction& ins, const FunctionValidator& v) {
  auto catches = std::make_shared<JitCatches>();
  TryTable table;
  for (const CatchClause& clause : *ins.catches) {
    // Labels counted from outside the try_table, whose own block is not in blocks_ yet (the
    // validator's frame for it is open: hence clause.label + 1 there).
    const size_t depth = clause.label;
    const bool function_label = depth == blocks_.size() - 1;
    const Block& target = blocks_[blocks_.size() - 1 - depth];
    ExceptionCatch c;
    c.all = clause.catches_all();
    c.reference = clause.passes_reference();
    c.tag = clause.tag;
    c.destination =
        function_label
            ? 0
            : static_cast<uint32_t>(operand_slot(v.control(clause.label + 1).height_cells));
    catches->catches.push_back(c);
    table.landings.push_back({target.label, function_label, target.pinned_set});
  }
  if (!try_tables_.empty()) {  // then the enclosing try_tables' catches, innermost first
    const TryTable& outer = try_tables_.back();
    catches->catches.insert(catches->catches.end(), outer.catches->catches.begin(),
                            outer.catches->catches.end());
    table.landings.insert(table.landings.end(), outer.landings.begin(), outer.landings.end());
  }
  table.catches = catches;
  code_data_.push_back(catches);
  try_tables_.push_back(std::move(table));
}

Label CodeGenerator::out_of_bounds(uint32_t module_offset) {
  if (options_.bounds == BoundsChecks::kGuardPages) return memory_fault_;  // never jumped to
  return trap_stub(TrapCode::kMemoryOutOfBounds, module_offset);
}

// DESIGN-NOTES section 5: a segment's whole cost is taken at its start (the decoder decides
// where segments start and what each instruction costs, for every tier). A segment the fuel
// does not cover takes nothing and traps at its first instruction. The charge is emitted at the
// segment's first instruction that costs: before it, a segment has only `nop` and `block`
// (everything else that costs nothing starts a segment of its own), whose code moves values
// between registers and cells and has no effect a program can see. So a segment that costs
// nothing (a block's end followed by another end, say) has no charge at all.
void CodeGenerator::start_segment(const Instruction& ins) {
  if (!options_.consume_fuel) return;
  end_segment();
  segment_offset_ = static_cast<uint32_t>(ins.offset);
  charge_pending_ = true;
}

void CodeGenerator::open_charge() {
  charge_pending_ = false;
  const Label out_of_fuel = masm_.new_label();
  const uint32_t charge = masm_.charge_fuel(out_of_fuel);
  stubs_.push_back([this, out_of_fuel, charge, module_offset = segment_offset_] {
    masm_.bind(out_of_fuel);
    masm_.refund_fuel(charge);  // stubs follow the body: the charge is patched by now
    emit_raise(static_cast<uint32_t>(TrapCode::kOutOfFuel), module_offset, function_index_);
  });
  charge_ = charge;
}

void CodeGenerator::end_segment() {
  if (charge_ != UINT32_MAX) masm_.patch(charge_, segment_cost_);
  charge_ = UINT32_MAX;
  charge_pending_ = false;
  segment_cost_ = 0;
}

// At loop headers (function entries have the prologue's stack check: begin_function).
void CodeGenerator::epoch_check(uint32_t module_offset) {
  if (!options_.epoch_interruption) return;
  const Label slow = masm_.new_label(), resume = masm_.new_label();
  masm_.check_interrupt(slow);
  masm_.bind(resume);
  const Label trap = trap_stub(TrapCode::kDeadlineExceeded, module_offset);
  stubs_.push_back([this, slow, resume, trap, set = pinned_set_] {
    // The deadline callback may extend the deadline: only then does the code go on.
    masm_.bind(slow);
    save_pinned(set);
    const RuntimeArgument args[] = {RuntimeArgument::vm()};
    masm_.call_runtime(reinterpret_cast<const void*>(&kiln_jit_deadline_passed), args);
    masm_.branch_if_result_nonzero(trap);
    restore_pinned(set);
    masm_.jump(resume);
  });
}

// ---------------------------------------------------------------------------------------------
// Function entry and exit

// The prologue of the function's entry and of its loop entries: the checks of the value stack,
// the native stack and the call depth, and (with epoch interruption) the deadline, which a
// failed native stack check may be instead (StoreContext::native_stack_limit): the real limit
// tells. `module_offset`: where a deadline found here traps.
void CodeGenerator::emit_prologue(uint32_t module_offset) {
  // The frame's size (its operand stack's height) is known at the end: patched in then.
  if (!options_.epoch_interruption) {
    frame_size_patches_.push_back(
        masm_.enter_function(entry_checks_, stack_exhausted_, stack_exhausted_));
    return;
  }
  const Label stack_check_failed = masm_.new_label(), resume = masm_.new_label();
  const Label deadline = trap_stub(TrapCode::kDeadlineExceeded, module_offset);
  stubs_.push_back([this, stack_check_failed, resume, deadline] {
    masm_.bind(stack_check_failed);
    masm_.branch_if_below_stack_limit(stack_exhausted_);
    const RuntimeArgument args[] = {RuntimeArgument::vm()};
    masm_.call_runtime(reinterpret_cast<const void*>(&kiln_jit_deadline_passed), args);
    masm_.branch_if_result_nonzero(deadline);
    masm_.jump(resume);
  });
  frame_size_patches_.push_back(
      masm_.enter_function(entry_checks_, stack_exhausted_, stack_check_failed));
  masm_.bind(resume);
}

// On-stack replacement (CodeTierOptions::loop_iterations_before_compile): the interpreter can
// hand a frame over at a live loop whose operand stack is empty (no values around it, no
// parameters) outside every try_table, as InterpreterTranslator::emit_loop_header decides
// too. There every value is in its cell but the pinned locals, which an entry loads.
bool CodeGenerator::enterable_loop(const Instruction& ins) const {
  return options_.loop_iterations_before_compile && ins.cells_before == 0 && try_tables_.empty();
}

void CodeGenerator::emit_loop_entries() {
  for (LoopEntry& entry : loop_entries_) {
    entry.entry = masm_.new_label();
    masm_.bind(entry.entry);
    emit_prologue(entry.module_offset);
    restore_pinned(entry.pinned_set);  // the locals as the interpreter left them in their cells
    masm_.jump(entry.loop);
  }
}

void CodeGenerator::begin_function(const FunctionValidator& v) {
  validator_ = &v;
  function_index_ = v.function_index();
  local_cells_ = v.total_local_cells();
  function_entry_ = masm_.new_label();
  masm_.bind(function_entry_);
  stack_exhausted_ = masm_.new_label();
  // The stack checks fail before this function's frame exists: the caller reports the trap
  // at its call, as the interpreter does.
  stubs_.push_back([this] {
    masm_.bind(stack_exhausted_);
    emit_raise(static_cast<uint32_t>(TrapCode::kCallStackExhausted), 0, kNoFrame);
  });
  memory_fault_ = masm_.new_label();
  stubs_.push_back([this] {
    masm_.bind(memory_fault_);
    emit_raise(kMemoryFault, 0,
               function_index_);  // kiln_jit_trap finds the offset from the faulting pc
  });
  Block function;
  function.live = true;
  function.label_cells = v.type().result_cells();  // (its branches return: no label)
  blocks_.push_back(function);
  const FunctionBody& body = module_.bodies[function_index_ - module_.imported_functions];
  const uint32_t param_cells = v.type().param_cells();
  const CompiledFunction& compiled = compiled_function();
  // A leaf's frame starts inside its caller's (checked) frame: one that fits in the slack past
  // the value stack's end needs no check.
  entry_checks_.value_stack =
      !compiled.leaf ||
      (uint64_t{local_cells_} + compiled.max_operand_cells) * 8 > kValueStackSlackBytes;
  emit_prologue(body.code_offset);
  // Outside loops no local is in a register (pin_loop_locals), unless there is one loop.
  pinned_sets_.assign(1, {});
  loop_twin_ = from_entry_set_ = 0;
  pinned_at_cell_.assign(local_cells_, -1);
  switch_pinned_set(0);
  if (compiled.loop_locals.loops.size() == 1) {
    pin_loop_locals(0, v, true);  // parameters, and declared locals' zeros
    pinned_for_function_ = true;
  } else {
    masm_.zero_frame(param_cells * 8, local_cells_ * 8);  // the declared locals
  }
  Instruction entry;
  entry.offset = body.code_offset;
  start_segment(entry);
}

void CodeGenerator::end_function(const FunctionValidator& v) {
  end_segment();
  emit_loop_entries();
  for (auto& stub : stubs_) stub();
  stubs_.clear();
  for (const RaiseSite& site : raise_sites_) {
    masm_.bind(site.stub);
    masm_.set_runtime_argument(kRaiseOffsetArgument, site.module_offset);
    masm_.jump(site.block);
  }
  raise_sites_.clear();
  for (const auto& [code, block] : raise_blocks_) {
    masm_.bind(block);
    emit_raise(code, RuntimeArgument::preset(), function_index_);
  }
  raise_blocks_.clear();
  const uint32_t frame_bytes = (local_cells_ + v.max_operand_cells()) * 8;
  for (uint32_t patch : frame_size_patches_) {
    if (patch != MacroAssembler::kNoPatch) {
      masm_.patch(patch, frame_bytes);
    } else if (frame_bytes > kValueStackSlackBytes) {
      failed_ = true;  // (cannot happen: the decoder measured this frame before)
    }
  }
}

void CodeGenerator::emit_return(uint32_t values_top) {
  const uint32_t cells = blocks_.front().label_cells;
  // No results, or one, the top value, straight to cell 0 from wherever it is: nothing else on
  // the stack outlives the return. The value stack's bookkeeping is left alone: after a br_if's
  // return, the fall-through goes on with it.
  if (!stack_.empty() && stack_.back().where != Value::Where::kCondition &&
      stack_.back().cell + cells == values_top &&
      stack_.back().cell + cell_count(stack_.back().type) == values_top) {
    store_value(stack_.back(), 0);
    masm_.return_from_function();
    return;
  }
  if (cells == 0) {
    masm_.return_from_function();
    return;
  }
  flush();
  if (cells) masm_.copy_slots(0, operand_slot(values_top - cells), cells);
  masm_.return_from_function();
}

// A branch to the label `depth` levels out, its values the top cells below `values_top`
// (every value already in its cell).
void CodeGenerator::branch_to(uint32_t depth, uint32_t values_top) {
  if (depth == blocks_.size() - 1) {
    emit_return(values_top);
    return;
  }
  const Block& target = blocks_[blocks_.size() - 1 - depth];
  const uint32_t cells = target.label_cells;
  if (cells && values_top - cells != target.height_cells) {
    masm_.copy_slots(operand_slot(target.height_cells), operand_slot(values_top - cells), cells);
  }
  // Out of a loop whose locals are in registers: those it set go back to their cells.
  if (changes_pinned(target.pinned_set)) save_pinned();
  masm_.jump(target.label);
}

// ---------------------------------------------------------------------------------------------
// Instructions

void CodeGenerator::emit_control(const Instruction& ins, const FunctionValidator& v) {
  switch (ins.opcode) {
    case kBlock:
    case kLoop:
    case kIf:
    case kTryTable: {
      const ControlFrame& frame = v.control(0);
      Block block;
      block.live = ins.live;
      block.is_loop = ins.opcode == kLoop;
      block.is_if = ins.opcode == kIf;
      block.is_try = ins.opcode == kTryTable && ins.live;
      block.height_cells = frame.height_cells;
      block.label_cells = cell_count(frame.label_types());
      // Loops outside every other loop are counted as the decoder counts them (dead ones too).
      const bool outermost_loop = block.is_loop && open_loops_ == 0 && !pinned_for_function_;
      const uint32_t loop_ordinal = outermost_loop ? outermost_loops_++ : 0;
      open_loops_ += block.is_loop;
      if (!ins.live) {
        blocks_.push_back(block);
        return;
      }
      add_cost(ins);
      block.label = masm_.new_label();
      if (block.is_if) {
        block.else_label = masm_.new_label();
        branch_on(pop(), true, block.else_label);
      } else {
        flush();
      }
      if (outermost_loop) pin_loop_locals(loop_ordinal, v, false);  // (every value in its cell)
      if (block.is_loop && pinned_for_function_ && open_loops_ == 1) enter_function_loop();
      block.pinned_set = pinned_set_;
      if (block.is_loop) {
        masm_.bind(block.label);
        if (enterable_loop(ins)) {
          loop_entries_.push_back({static_cast<uint32_t>(ins.offset), block.label, 0, pinned_set_});
        }
        epoch_check(static_cast<uint32_t>(ins.offset));
      }
      if (block.is_try) open_try_table(ins, v);
      blocks_.push_back(block);
      if (ins.starts_segment) start_segment(ins);
      return;
    }
    case kElse: {
      Block& block = blocks_.back();
      block.has_else = true;
      if (!ins.live) return;
      if (ins.reachable) {  // the then-branch falls through: over the else-branch
        flush();
        masm_.jump(block.label);
      }
      end_segment();
      masm_.bind(block.else_label);
      reset_stack(block.height_cells, ins.closed->params);
      if (ins.starts_segment) start_segment(ins);
      return;
    }
    case kEnd: {
      if (blocks_.size() == 1) {  // the function's own end: the results are at operand cell 0
        if (ins.reachable) emit_return(top_cells());
        blocks_.pop_back();
        return;
      }
      const Block block = blocks_.back();
      blocks_.pop_back();
      open_loops_ -= block.is_loop;
      if (!block.live) return;
      if (block.is_try) try_tables_.pop_back();
      if (ins.reachable) flush();
      // Out of a loop outside every other loop: its locals back to their cells (only the
      // fall-through gets here: a loop's label is its start).
      const bool unpin =
          block.is_loop && open_loops_ == 0 && pinned_set_ != 0 && !pinned_for_function_;
      if (unpin && ins.reachable) save_pinned();
      end_segment();
      if (!block.is_loop) masm_.bind(block.label);
      if (block.is_if && !block.has_else) masm_.bind(block.else_label);
      reset_stack(block.height_cells, ins.closed->results);
      if (unpin) switch_pinned_set(0);  // (every value is in its cell)
      // Out of a function's one loop: back to the from-entry set (the same registers).
      if (block.is_loop && open_loops_ == 0 && registers_of(pinned_set_) != pinned_set_) {
        switch_pinned_set(registers_of(pinned_set_));
      }
      if (ins.starts_segment) start_segment(ins);
      return;
    }
  }
}

void CodeGenerator::compute_condition() {
  Value& v = stack_.back();
  // A pinned local compared (read_register) keeps its value: the result goes elsewhere.
  const Reg dst = general_owner_[v.reg] == kPinned ? allocate(RegisterClass::kGeneral) : v.reg;
  masm_.int_compare(v.condition, v.width, dst, v.reg, v.b);
  if (v.b.kind == Source::Kind::kRegister) free_register(RegisterClass::kGeneral, v.b.reg);
  v.where = Value::Where::kRegister;
  v.reg = dst;
  general_owner_[dst] = static_cast<int>(stack_.size() - 1);
}

void CodeGenerator::branch_on(const Value& condition, bool when_zero, Label target) {
  if (condition.where == Value::Where::kCondition) {
    flush();  // the compare's operands are held registers, locals or cells above the stack
    const Condition c = when_zero ? negate(condition.condition) : condition.condition;
    masm_.branch_if_compare(c, condition.width, condition.reg, condition.b, target);
    release(condition);
    return;
  }
  // A local kept in a register is tested there (flush only stores what the stack holds).
  const Reg r = read_register(condition);
  flush();
  if (when_zero) {
    masm_.branch_if_zero(r, target);
  } else {
    masm_.branch_if_nonzero(r, target);
  }
  free_register(RegisterClass::kGeneral, r);
}

void CodeGenerator::emit_out_of_line(const Instruction& ins, uint32_t operand_cells, ValType result,
                                     uint64_t immediate, uint64_t immediate2) {
  const OutOfLineOperator function = out_of_line_operator(ins.opcode);
  if (!function) {
    failed_ = true;
    return;
  }
  const uint32_t first = ins.cells_before - operand_cells;
  materialize_from(first);
  spill_registers();
  const RuntimeArgument args[] = {RuntimeArgument::vm(),
                                  RuntimeArgument::slot_address(operand_slot(first)),
                                  RuntimeArgument::immediate(static_cast<int64_t>(immediate)),
                                  RuntimeArgument::immediate(static_cast<int64_t>(immediate2))};
  save_pinned();
  masm_.call_runtime(reinterpret_cast<const void*>(function), args);
  masm_.branch_if_result_nonzero(pending_trap_stub(static_cast<uint32_t>(ins.offset)));
  restore_pinned();
  while (top_cells() > first) release(pop());
  if (result != ValType::kUnknown) push_cell(result, first);
}

void CodeGenerator::emit_call(const Instruction& ins, uint32_t param_cells,
                              const std::vector<ValType>& results) {
  const uint32_t first = ins.cells_before - param_cells;
  // Arguments go to their cells (the callee's frame starts there); values below them may stay
  // constants or unread locals (a callee cannot change this frame), not registers.
  materialize_from(first);
  spill_registers();
  const Label trapped = exception_path(static_cast<uint32_t>(ins.offset));
  const std::array<RuntimeArgument, 3> args = {RuntimeArgument::vm(),
                                               RuntimeArgument::immediate(ins.index),
                                               RuntimeArgument::slot_address(operand_slot(first))};
  // Calls clobber every value register, pinned locals' included.
  save_pinned();
  const CompiledFunction* callee =
      ins.index < module_.imported_functions
          ? nullptr
          : module_.compiled[ins.index - module_.imported_functions].get();
  // Machine code known now (the function itself, or compiled before it: freed with it) is
  // called straight; other code is called through its entry once it has one, and until then
  // through the runtime, which compiles it (or interprets it). Imports always go through the
  // runtime.
  const void* known = callee ? callee->native_entry.load(std::memory_order_acquire) : nullptr;
  if (ins.index == function_index_) {
    masm_.call_label(function_entry_, operand_slot(first), trapped);
  } else if (known) {
    masm_.call_address(known, operand_slot(first), trapped);
  } else if (callee) {
    const Label not_compiled = masm_.new_label(), resume = masm_.new_label();
    masm_.call_direct(&callee->native_entry, operand_slot(first), not_compiled, trapped);
    masm_.bind(resume);
    stubs_.push_back([this, not_compiled, resume, trapped, args] {
      masm_.bind(not_compiled);
      masm_.call_runtime(reinterpret_cast<const void*>(&kiln_jit_call_function), args);
      masm_.branch_if_result_nonzero(trapped);
      masm_.jump(resume);
    });
  } else {
    masm_.call_runtime(reinterpret_cast<const void*>(&kiln_jit_call_function), args);
    masm_.branch_if_result_nonzero(trapped);
  }
  restore_pinned();
  reset_stack(first, results);
  if (ins.starts_segment) start_segment(ins);
}

}  // namespace kiln::jit
