import { Module } from '@nestjs/common';
import { InstagramClient } from './instagram.client';

@Module({
  providers: [InstagramClient],
  exports: [InstagramClient],
})
export class InstagramModule {}
