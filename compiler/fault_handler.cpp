#include "compiler/fault_handler.h"

#include <signal.h>
#include <ucontext.h>

#include <csignal>
#include <mutex>

#include "runtime/tier.h"
#include "runtime/vm_context.h"

namespace kiln::jit {

namespace {

const CodeMemory* code_memory = nullptr;
struct sigaction previous_segv, previous_bus;

// Hands a fault that is not kiln's to the handler installed before ours.
void forward(int signal, siginfo_t* info, void* context) {
  const struct sigaction& previous = signal == SIGBUS ? previous_bus : previous_segv;
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction) previous.sa_sigaction(signal, info, context);
    return;
  }
  if (previous.sa_handler == SIG_IGN || previous.sa_handler == SIG_DFL) {
    // The default action: with our handler gone, the instruction faults again and the
    // process ends as it would have without kiln.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(signal, &default_action, nullptr);
    return;
  }
  previous.sa_handler(signal);
}

void handle_fault(int signal, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  const auto pc = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  const NativeFunction* function = code_memory ? code_memory->owner_of(pc) : nullptr;
  const uint32_t module_offset = function ? function->module_offset_at(pc) : 0;
  if (!function || module_offset == 0 || function->memory_fault_entry == 0) {
    forward(signal, info, context);
    return;
  }
  // r12 holds the VM context in generated code (compiler/x64/macro_assembler_x64.h).
  auto* vm = reinterpret_cast<VmContext*>(uc->uc_mcontext.gregs[REG_R12]);
  vm->store->fault_module_offset = module_offset;
  uc->uc_mcontext.gregs[REG_RIP] =
      static_cast<greg_t>(function->start + function->memory_fault_entry);
}

}  // namespace

bool install_fault_handler(const CodeMemory& memory) {
  static std::once_flag once;
  static bool installed = false;
  std::call_once(once, [&memory] {
    code_memory = &memory;
    struct sigaction action {};
    action.sa_sigaction = handle_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    installed = sigaction(SIGSEGV, &action, &previous_segv) == 0 &&
                sigaction(SIGBUS, &action, &previous_bus) == 0;
  });
  return installed;
}

}  // namespace kiln::jit
