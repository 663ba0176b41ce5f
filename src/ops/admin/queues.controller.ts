import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../platform/auth/roles.decorator';
import { RedisConnections } from '../../platform/redis/redis-connections';
import { QueueFigures } from '../metrics/queue-figures';
import { JobDto, JobParams, QueuesDto } from './queue.dto';

/** BullMQ scores a delayed job as timestamp * 4096 + a counter. */
const DELAY_SCORE_FACTOR = 0x1000;

@ApiTags('queues')
@Roles('ops')
@Controller('admin')
export class QueuesController {
  constructor(
    private readonly figures: QueueFigures,
    private readonly redis: RedisConnections,
  ) {}

  @Get('queues')
  @ApiOperation({
    summary:
      'Every queue: job counts (Redis), pending dead letters, failures in the last 15 minutes, processing time and throughput (Postgres)',
  })
  @ApiOkResponse({ type: QueuesDto })
  async queues(): Promise<QueuesDto> {
    const figures = await this.figures.all();
    return {
      queues: figures.map(({ counts, ...figure }) => ({
        ...figure,
        waiting: counts?.waiting ?? null,
        active: counts?.active ?? null,
        delayed: counts?.delayed ?? null,
        prioritized: counts?.prioritized ?? null,
        failed: counts?.failed ?? null,
        completed: counts?.completed ?? null,
      })),
      redisConnected: figures.every((figure) => figure.counts !== null),
      generatedAt: new Date(),
    };
  }

  @Get('jobs/:queue/:id')
  @ApiOperation({ summary: 'One job: attempts, times, last sanitised error, next retry' })
  @ApiOkResponse({ type: JobDto })
  @ApiNotFoundResponse({ description: 'unknown queue or job (completed jobs are kept for an hour)' })
  async job(@Param() params: JobParams): Promise<JobDto> {
    const queue = this.figures.queue(params.queue);
    if (!queue) throw new NotFoundException(`unknown queue "${params.queue}"`);
    const job = await queue.getJob(params.id);
    if (!job) throw new NotFoundException('no such job (completed jobs are kept for an hour, failed ones for 7 days)');
    const state = await job.getState();
    let nextRetryAt: Date | null = null;
    if (state === 'delayed') {
      const score = await this.redis.failFast.zscore(queue.keys.delayed, params.id);
      if (score !== null) nextRetryAt = new Date(Math.floor(Number(score) / DELAY_SCORE_FACTOR));
    }
    return {
      id: job.id ?? params.id,
      queue: params.queue,
      name: job.name,
      state,
      data: job.data as Record<string, unknown>,
      attempts: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
      createdAt: new Date(job.timestamp),
      startedAt: job.processedOn ? new Date(job.processedOn) : null,
      finishedAt: job.finishedOn ? new Date(job.finishedOn) : null,
      lastError: job.failedReason || null,
      nextRetryAt,
    };
  }
}
