import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { connectionSettings, dataSourceOptions } from './data-source-options';
import { MaintenanceSql, poolOf, Sql } from './sql';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptions(config.databaseUrl, config.databasePoolSize, config.databaseStatementTimeoutMs),
        // Migrations ran before the module started (prepareDatabase, under a lock); never here.
        migrationsRun: false,
        retryAttempts: 0,
      }),
    }),
  ],
  providers: [
    { provide: Sql, inject: [DataSource], useFactory: (dataSource: DataSource) => new Sql(poolOf(dataSource)) },
    {
      provide: MaintenanceSql,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new MaintenanceSql(
          new Pool({
            ...connectionSettings(config.databaseMaintenanceTimeoutMs),
            connectionString: config.databaseUrl,
            application_name: 'switchboard-maintenance',
            max: 2,
            idleTimeoutMillis: 10_000,
          }),
        ),
    },
  ],
  exports: [Sql, MaintenanceSql],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(MaintenanceSql) private readonly maintenance: MaintenanceSql) {}

  async onApplicationShutdown(): Promise<void> {
    await this.maintenance.close();
  }
}
