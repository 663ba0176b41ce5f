import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export function processCpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Busy CPU seconds of the whole machine so far (every core). */
export function machineBusySeconds(): number {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
  void idle;
  void iowait;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Measures CPU used by some processes and by the machine over a window. */
export class CpuWindow {
  private readonly start: number[];
  private readonly machineStart = machineBusySeconds();
  private readonly startedAt = performance.now();

  constructor(private readonly pids: (number | undefined)[]) {
    this.start = pids.map(processCpuSeconds);
  }

  /** Per process and machine: CPU seconds used, and cores busy on average. */
  finish(): { processSeconds: number[]; machineSeconds: number; wallSeconds: number } {
    return {
      processSeconds: this.pids.map(
        (pid, index) => Math.round((processCpuSeconds(pid) - this.start[index]) * 100) / 100,
      ),
      machineSeconds: Math.round((machineBusySeconds() - this.machineStart) * 100) / 100,
      wallSeconds: Math.round(performance.now() - this.startedAt) / 1000,
    };
  }
}
