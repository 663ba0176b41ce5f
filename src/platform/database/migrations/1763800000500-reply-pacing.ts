import { MigrationInterface, QueryRunner } from 'typeorm';

export class ReplyPacing1763800000500 implements MigrationInterface {
  name = 'ReplyPacing1763800000500';

  async up(db: QueryRunner): Promise<void> {
    // The send slot reserved for a paced reply: the deferred job sends at this time without reserving again.
    await db.query(`ALTER TABLE replies ADD COLUMN not_before timestamptz`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE replies DROP COLUMN not_before`);
  }
}
