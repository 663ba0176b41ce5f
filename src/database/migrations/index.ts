import { InboundPipeline1763800000000 } from './1763800000000-inbound-pipeline';

/** Every migration, in order. A new migration is added here in the same commit as its file. */
export const MIGRATIONS = [InboundPipeline1763800000000];
