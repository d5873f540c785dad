// The abort hook of modules that run without a board (the codec module of the host tools):
// there is no HAL to report to, so a failed assertion just traps and the host sees the trap.
export function trapOnAbort(message: string | null, file: string | null, line: u32, column: u32): void {
  unreachable();
}
