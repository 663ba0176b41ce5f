/** The wall-clock time, behind one door: what depends on days passing (token expiry) can be tested without waiting. */
export class Clock {
  now(): Date {
    return new Date();
  }
}
