import { businessHoursProblem, isOpen, localTime, timezoneProblem } from './business-hours';

describe('business hours on the clinic wall clock (Intl time zone data)', () => {
  const hours = { mon: ['10:00-19:00'], sat: ['10:00-19:00'], sun: ['00:00-24:00'] };

  it('follows Europe/Berlin across the spring change (29 March 2026, 02:00 CET → 03:00 CEST)', () => {
    expect(localTime(new Date('2026-03-28T09:00:00Z'), 'Europe/Berlin')).toEqual({ day: 'sat', minute: 600 });
    expect(localTime(new Date('2026-03-30T08:00:00Z'), 'Europe/Berlin')).toEqual({ day: 'mon', minute: 600 });
    expect(isOpen(hours, 'Europe/Berlin', new Date('2026-03-30T08:00:00Z'))).toBe(true);
    expect(isOpen(hours, 'Europe/Berlin', new Date('2026-03-30T07:59:00Z'))).toBe(false);
    expect(isOpen(hours, 'Europe/Berlin', new Date('2026-03-30T18:00:00Z'))).toBe(false);
  });

  it('and across the autumn change (25 October 2026, 03:00 CEST → 02:00 CET)', () => {
    expect(isOpen(hours, 'Europe/Berlin', new Date('2026-10-26T09:00:00Z'))).toBe(true);
    expect(isOpen(hours, 'Europe/Berlin', new Date('2026-10-26T08:59:00Z'))).toBe(false);
  });

  it('24:00 closes the day; no hours means always open; an unlisted day is closed', () => {
    expect(isOpen(hours, 'UTC', new Date('2026-03-29T23:59:00Z'))).toBe(true);
    expect(isOpen(null, 'UTC', new Date('2026-03-31T03:00:00Z'))).toBe(true);
    expect(isOpen(hours, 'UTC', new Date('2026-03-31T12:00:00Z'))).toBe(false);
  });

  it('names the field in what is wrong', () => {
    expect(timezoneProblem('Mars/Olympus', 'BUSINESS_TIMEZONE')).toMatch(/^BUSINESS_TIMEZONE is not a time zone/);
    expect(businessHoursProblem({ funday: [] }, 'BUSINESS_HOURS')).toMatch(/^BUSINESS_HOURS may name/);
    expect(businessHoursProblem({ mon: ['18:00-09:00'] }, 'BUSINESS_HOURS')).toMatch(/^BUSINESS_HOURS\.mon\[0\]/);
  });
});
