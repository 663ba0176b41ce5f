import { InjectQueue } from '@nestjs/bullmq';
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { Queue } from 'bullmq';
import { DeadLetterAlert } from '../../dead-letters/dead-letter-alert';
import { QueueName } from '../../platform/queue/queue-names';
import { DependencyHealth } from './dependency-health';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dependencies: DependencyHealth,
    private readonly deadLetters: DeadLetterAlert,
    @InjectQueue(QueueName.InboundEvents) private readonly queue: Queue,
  ) {}

  /** Liveness: the process is running. */
  @Get()
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live() {
    return { status: 'ok' };
  }

  /**
   * Readiness: Postgres and Redis both answer (503 with details otherwise). Status `degraded`, still 200,
   * while ingest holds new events back over INGEST_BACKLOG_LIMIT (docs/flood-protection.md). `accounts`
   * says how many replies are held for paused accounts and accounts that need a token.
   */
  @Get('ready')
  @HealthCheck()
  async ready() {
    const result = await this.health.check([
      () => this.dependencies.postgres(),
      () => this.dependencies.redis(),
      () => this.dependencies.backlog(),
      () => this.dependencies.accounts(),
    ]);
    return this.dependencies.degraded ? { ...result, status: 'degraded' } : result;
  }

  @Get('queue')
  async queueState() {
    const connected = await this.dependencies.redisConnected();
    const counts = connected
      ? await this.queue
          .getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized')
          .catch(() => null)
      : null;
    const deadLetters = await this.deadLetters.check().catch(() => null);
    return {
      queue: {
        name: this.queue.name,
        waiting: counts ? (counts.waiting ?? 0) + (counts.prioritized ?? 0) : null,
        active: counts?.active ?? null,
        delayed: counts?.delayed ?? null,
        failed: counts?.failed ?? null,
        completed: counts?.completed ?? null,
      },
      deadLetters,
      redis: { connected: connected && counts !== null },
    };
  }
}
