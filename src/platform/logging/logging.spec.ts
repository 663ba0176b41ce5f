import { AppConfig } from '../config/app-config';
import { prettyLogs } from './logging';

describe('prettyLogs', () => {
  const config = (nodeEnv: AppConfig['nodeEnv'], file?: string) =>
    ({ nodeEnv, log: { level: 'info', requests: true, file } }) as AppConfig;

  it('is pino-pretty for a person at a terminal in development', () => {
    expect(prettyLogs(config('development'), true)?.target).toBe('pino-pretty');
    expect(require.resolve('pino-pretty')).toBeTruthy();
  });

  it('is JSON in production, through a pipe, or into LOG_FILE', () => {
    expect(prettyLogs(config('production'), true)).toBeUndefined();
    expect(prettyLogs(config('development'), false)).toBeUndefined();
    expect(prettyLogs(config('development', '/tmp/x.log'), true)).toBeUndefined();
  });
});
