import { Module } from '@nestjs/common';
import { UiAssets } from './ui-assets';
import { UiController } from './ui.controller';

/** The web pages at /ui (sign-in, audit log, dead letters, queues). */
@Module({
  controllers: [UiController],
  providers: [UiAssets],
})
export class UiModule {}
