import test from "ava";
import { countCrossCpuInterrupts, crossCpuInterrupts } from "../../bench/lib/procs.js";

// The bench's wake-up column: the cross-CPU interrupts Linux counts in /proc/interrupts (rescheduling and function
// call: RES and CAL on x86, IPI0 and IPI1 on arm64), every CPU.

const TWO_CPUS = `           CPU0       CPU1
  0:         37          0   IO-APIC   2-edge      timer
LOC:     885109     854247   Local timer interrupts
RES:     490381     516032   Rescheduling interrupts
CAL:    5103318    4892470   Function call interrupts
TLB:      19598      16786   TLB shootdowns
`;

test("RES and CAL are summed over every CPU; timer and TLB interrupts are not wake-ups", (t) => {
  t.is(countCrossCpuInterrupts(TWO_CPUS), 490381 + 516032 + 5103318 + 4892470);
});

const ARM64 = `           CPU0       CPU1
 11:     120931     118021     GICv3  27 Level     arch_timer
IPI0:       2112       2377       Rescheduling interrupts
IPI1:        305        298       Function call interrupts
IPI2:          0          0       CPU stop interrupts
`;

test("arm64 names them IPI0 and IPI1: the same two kinds are summed, CPU stops are not", (t) => {
  t.is(countCrossCpuInterrupts(ARM64), 2112 + 2377 + 305 + 298);
});

test("a file without either line gives no figure rather than zero", (t) => {
  t.true(Number.isNaN(countCrossCpuInterrupts("           CPU0\n  0:         37   IO-APIC   timer\n")));
});

test("on this machine the count is read and never goes back", (t) => {
  const before = crossCpuInterrupts();
  const after = crossCpuInterrupts();
  t.true(Number.isFinite(before), "no rescheduling or function-call lines in /proc/interrupts");
  t.true(after >= before);
});
