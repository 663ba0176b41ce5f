import { CustomHeaderError, validateCustomHeaders } from './custom-headers';

describe('validateCustomHeaders', () => {
  it('keeps valid headers with lower-case names, Latin-1 and tabs included', () => {
    expect(validateCustomHeaders({ 'X-Api-Key': 'k-1', 'x-Note': 'caf\u00e9\tok' })).toEqual({
      'x-api-key': 'k-1',
      'x-note': 'caf\u00e9\tok',
    });
  });

  it('keeps a header named __proto__ as a header, not as a prototype', () => {
    const clean = validateCustomHeaders(JSON.parse('{"__proto__":"x"}'));
    expect(Object.entries(clean)).toEqual([['__proto__', 'x']]);
  });

  it('refuses the same name twice in different cases, and too many headers', () => {
    expect(() => validateCustomHeaders({ 'X-A': '1', 'x-a': '2' })).toThrow(/"x-a" is given twice/);
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`x-${i}`, 'v']));
    expect(() => validateCustomHeaders(many)).toThrow(CustomHeaderError);
  });

  it('never quotes the value in its message', () => {
    expect(() => validateCustomHeaders({ authorization: 'Bearer secret\n' })).toThrow(/^header "authorization"/);
    try {
      validateCustomHeaders({ authorization: 'Bearer secret\n' });
    } catch (error) {
      expect(String(error)).not.toContain('secret');
    }
  });
});
