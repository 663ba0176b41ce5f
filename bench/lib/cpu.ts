import { readdirSync, readFileSync } from 'node:fs';

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

/**
 * CPU seconds so far of each Postgres backend serving `database` (its process title is
 * "postgres: [<cluster>: ]<user> <database> ..."): the database work one app causes, apart from other work.
 */
export function databaseBackendsCpu(database: string): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (/^postgres: (?:\S+: )?\S+ (\S+) /.exec(title)?.[1] !== database) continue;
      cpu.set(Number(entry), processCpuSeconds(Number(entry)));
    } catch {
      // the process ended while we looked
    }
  }
  return cpu;
}

const round = (seconds: number) => Math.round(seconds * 100) / 100;

/** Measures CPU used by some processes, by one database's Postgres backends and by the machine over a window. */
export class CpuWindow {
  private readonly start: number[];
  private readonly databaseStart: Map<number, number>;
  private readonly machineStart = machineBusySeconds();
  private readonly startedAt = performance.now();

  constructor(
    private readonly pids: (number | undefined)[],
    private readonly database?: string,
  ) {
    this.start = pids.map(processCpuSeconds);
    this.databaseStart = database ? databaseBackendsCpu(database) : new Map();
  }

  /** Per process, the database's backends and the machine: CPU seconds used, and the wall time. */
  finish(): { processSeconds: number[]; databaseSeconds: number; machineSeconds: number; wallSeconds: number } {
    let databaseSeconds = 0;
    if (this.database) {
      for (const [pid, seconds] of databaseBackendsCpu(this.database)) {
        databaseSeconds += seconds - (this.databaseStart.get(pid) ?? 0);
      }
    }
    return {
      processSeconds: this.pids.map((pid, index) => round(processCpuSeconds(pid) - this.start[index])),
      databaseSeconds: round(databaseSeconds),
      machineSeconds: round(machineBusySeconds() - this.machineStart),
      wallSeconds: Math.round(performance.now() - this.startedAt) / 1000,
    };
  }
}
