import { autoReplyProblem, businessHoursProblem, normaliseBusinessHours, timezoneProblem } from './reply-settings';

describe('reply settings checks', () => {
  it.each(['UTC', 'Europe/Lisbon', 'America/Argentina/Buenos_Aires', 'Etc/GMT+3'])(
    'accepts the time zone %s',
    (zone) => {
      expect(timezoneProblem(zone)).toBeNull();
    },
  );

  it.each([
    ['Mars/Olympus', 'not a time zone this server knows'],
    ['+01:00', 'must be an IANA time zone name'],
    ['', 'must be an IANA time zone name'],
    [42, 'must be an IANA time zone name'],
    ['Europe/' + 'x'.repeat(80), 'must be an IANA time zone name'],
  ])('refuses the time zone %p, naming the field and not the value', (zone, message) => {
    const problem = timezoneProblem(zone);
    expect(problem).toContain(message);
    expect(problem?.startsWith('timezone')).toBe(true);
    if (typeof zone === 'string' && zone.length > 3) expect(problem).not.toContain(zone);
  });

  it('accepts the contract example, 24:00 as an end, and an empty (closed) day', () => {
    expect(businessHoursProblem({ mon: ['09:00-13:00', '14:00-18:00'], sat: ['09:00-12:00'] })).toBeNull();
    expect(businessHoursProblem({ fri: ['20:00-24:00'], sun: [] })).toBeNull();
    expect(businessHoursProblem({})).toBeNull();
  });

  it.each([
    [null, 'businessHours must be an object'],
    [{ mon: '09:00-18:00' }, 'businessHours.mon must be a list'],
    [{ mon: ['9:00-18:00'] }, 'businessHours.mon[0] must be "HH:MM-HH:MM"'],
    [{ mon: ['09:00-24:30'] }, 'businessHours.mon[0] must be "HH:MM-HH:MM"'],
    [{ tue: ['10:00-10:00'] }, 'businessHours.tue[0] must be "HH:MM-HH:MM" with the start before the end'],
    [{ wed: ['14:00-18:00', '09:00-12:00'] }, 'businessHours.wed[1] overlaps or precedes'],
    [{ holiday: [] }, 'businessHours may name the days mon, tue, wed, thu, fri, sat, sun only'],
  ])('refuses the business hours %j', (hours, message) => {
    expect(businessHoursProblem(hours)).toContain(message);
  });

  it('stores the days in week order', () => {
    expect(Object.keys(normaliseBusinessHours({ sun: [], mon: ['09:00-10:00'], wed: [] }))).toEqual([
      'mon',
      'wed',
      'sun',
    ]);
  });

  it.each([
    [{ enabled: false }, null],
    [{ text: 'We answer within a day.', afterHoursText: '' }, null],
    [{ text: '   ' }, 'autoReply.text must be a text of 1 to 1000 characters'],
    [{ afterHoursText: 'x'.repeat(1001) }, 'autoReply.afterHoursText must be a text of at most 1000'],
    [{ enabled: 1 }, 'autoReply.enabled must be true or false'],
    [{ enabled: true, html: '<b>' }, 'autoReply may hold enabled, text and afterHoursText only'],
    [['text'], 'autoReply must be an object'],
  ])('checks the auto-reply %j', (settings, message) => {
    const problem = autoReplyProblem(settings);
    if (message === null) expect(problem).toBeNull();
    else expect(problem).toContain(message);
  });
});
