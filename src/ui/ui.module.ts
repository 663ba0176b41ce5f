import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance } from 'fastify';
import { UiAssets } from './ui-assets';
import { UiController } from './ui.controller';

/** The web pages at /ui (sign-in, audit log, dead letters, queues, accounts). */
@Module({
  controllers: [UiController],
  providers: [UiAssets],
})
export class UiModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** Nest routes ignore a trailing slash, Fastify does not: `/ui/` is sent to the sign-in page too. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.get('/ui/', (_request, reply) => reply.redirect('/ui', 301));
  }
}
