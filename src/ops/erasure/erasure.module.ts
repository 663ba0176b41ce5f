import { Module } from '@nestjs/common';
import { ErasureController } from './erasure.controller';
import { ErasureRepository } from './erasure.repository';
import { ErasureService } from './erasure.service';

/** POST /admin/erasure: a patient's right to erasure. */
@Module({
  controllers: [ErasureController],
  providers: [ErasureRepository, ErasureService],
})
export class ErasureModule {}
