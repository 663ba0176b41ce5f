import { Module } from '@nestjs/common';
import { MaintenanceController } from './maintenance.controller';
import { RetentionModule } from './retention.module';

/** The API side of maintenance: run retention on demand. */
@Module({
  imports: [RetentionModule],
  controllers: [MaintenanceController],
})
export class MaintenanceModule {}
