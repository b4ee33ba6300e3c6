import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  registerDateOf,
  registeredUserEventSchema as schema,
  validateRegisteredUserEvent,
  type RegisteredUserEvent,
} from '@reghook/receiver';
import { SAMPLE_EVENT, eventArbitrary, formatRegisterDate } from './fixtures.js';

const SPEC_KEY_ORDER = [
  'clientUuid', 'clientIp', 'country', 'language', 'storeRegister', 'subscriberId',
  'subscriberName', 'appId', 'flowId', 'siteId', 'registerDate', 'registerOtpStatus',
];

const issuesOf = (value: unknown): string[] => {
  const result = validateRegisteredUserEvent(value);
  return result.ok ? [] : result.issues.map((issue) => issue.path);
};

describe('the RegisteredUserEvent validator', () => {
  it('accepts every valid event and returns it unchanged', () => {
    fc.assert(
      fc.property(eventArbitrary, (event) => {
        expect(validateRegisteredUserEvent(JSON.parse(JSON.stringify(event)))).toEqual({ ok: true, event });
      }),
    );
  });

  it('accepts the example of the spec, with null country and subscriberName too', () => {
    expect(issuesOf(SAMPLE_EVENT)).toEqual([]);
    expect(issuesOf({ ...SAMPLE_EVENT, country: null, subscriberName: null })).toEqual([]);
  });

  it.each<[string, Partial<Record<keyof RegisteredUserEvent, unknown>>]>([
    ['clientUuid', { clientUuid: '8a6e0804-2bd0-4672-b79d-d97027f9071' }],
    ['clientUuid', { clientUuid: 42 }],
    ['clientIp', { clientIp: '203.0.113.256' }],
    ['clientIp', { clientIp: '203.0.113.07' }],
    ['clientIp', { clientIp: 'fe80::1%eth0' }],
    ['clientIp', { clientIp: 'example.com' }],
    ['country', { country: 'tr' }],
    ['country', { country: 'TUR' }],
    ['country', { country: undefined }],
    ['language', { language: '' }],
    ['language', { language: null }],
    ['storeRegister', { storeRegister: 'true' }],
    ['subscriberId', { subscriberId: 905555555555 }],
    ['subscriberId', { subscriberId: '' }],
    ['subscriberName', { subscriberName: 7 }],
    ['appId', { appId: 0 }],
    ['appId', { appId: 1.5 }],
    ['appId', { appId: '1' }],
    ['flowId', { flowId: -1 }],
    ['siteId', { siteId: 2 ** 53 }],
    ['registerDate', { registerDate: '2020-03-20T12:35:41Z' }],
    ['registerDate', { registerDate: '2021-02-29 00:00:00' }],
    ['registerDate', { registerDate: '2020-13-01 00:00:00' }],
    ['registerDate', { registerDate: '2020-03-20 24:00:00' }],
    ['registerOtpStatus', { registerOtpStatus: null }],
  ])('refuses a bad %s (%j)', (key, patch) => {
    const value: Record<string, unknown> = { ...SAMPLE_EVENT, ...patch };
    if ('country' in patch && patch.country === undefined) delete value.country;
    expect(issuesOf(value)).toEqual([`/${key}`]);
  });

  it('keeps unknown properties (a field reghook adds later reaches the handler), known ones still checked; drops __proto__', () => {
    const keyName = fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !SPEC_KEY_ORDER.includes(k) && k !== '__proto__');
    fc.assert(
      fc.property(eventArbitrary, fc.dictionary(keyName, fc.jsonValue(), { maxKeys: 4 }), (event, extra) => {
        const sent = JSON.parse(JSON.stringify({ ...event, ...extra }));
        expect(validateRegisteredUserEvent(sent)).toEqual({ ok: true, event: sent });
      }),
    );
    expect(issuesOf({ ...SAMPLE_EVENT, email: 'x@example.com', appId: 0 })).toEqual(['/appId']);
    const result = validateRegisteredUserEvent(JSON.parse(`{"__proto__":{"admin":true},${JSON.stringify(SAMPLE_EVENT).slice(1)}`));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.keys(result.event)).toEqual(SPEC_KEY_ORDER);
    expect(Object.getPrototypeOf(result.event)).toBe(Object.prototype);
    expect((result.event as unknown as { admin?: unknown }).admin).toBeUndefined();
  });

  it('refuses anything that is not an object', () => {
    for (const value of [null, [], 'event', 1, true]) expect(issuesOf(value)).toEqual(['']);
  });

  it('reports every problem at once', () => {
    expect(issuesOf({ ...SAMPLE_EVENT, appId: 0, country: 'tr', extra: 1 })).toEqual(['/country', '/appId']);
  });
});

describe('the JSON Schema', () => {
  it('is an open draft 2020-12 object schema (new fields allowed) requiring every property in spec order', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.additionalProperties).toBe(true);
    expect(schema.required).toEqual(SPEC_KEY_ORDER);
    expect(Object.keys(schema.properties)).toEqual(SPEC_KEY_ORDER);
    expect(Object.keys(SAMPLE_EVENT)).toEqual(SPEC_KEY_ORDER);
  });

  it('its example is a valid event', () => {
    expect(issuesOf(schema.examples[0])).toEqual([]);
  });

  it('declares for each property the JSON types the validator accepts', () => {
    const jsonType = (v: unknown): string =>
      v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v;
    fc.assert(
      fc.property(eventArbitrary, (event) => {
        for (const [key, value] of Object.entries(event)) {
          const declared = schema.properties[key as keyof typeof schema.properties].type;
          expect([declared].flat()).toContain(jsonType(value));
        }
      }),
    );
  });

  it('its patterns agree with the validator on valid values and on near misses', () => {
    const patterns = {
      clientUuid: new RegExp(schema.properties.clientUuid.pattern),
      country: new RegExp(schema.properties.country.pattern),
      registerDate: new RegExp(schema.properties.registerDate.pattern),
    };
    fc.assert(
      fc.property(eventArbitrary, (event) => {
        expect(patterns.clientUuid.test(event.clientUuid)).toBe(true);
        if (event.country !== null) expect(patterns.country.test(event.country)).toBe(true);
        expect(patterns.registerDate.test(event.registerDate)).toBe(true);
      }),
    );
    const misses: Array<[keyof typeof patterns, string]> = [
      ['clientUuid', '8a6e0804-2bd0-4672-b79d-d97027f9071az'],
      ['country', 'Tr'],
      ['registerDate', '2020-03-20 12:35:60'],
      ['registerDate', '2020-03-20 12:35'],
    ];
    for (const [key, value] of misses) {
      expect(patterns[key].test(value)).toBe(false);
      expect(issuesOf({ ...SAMPLE_EVENT, [key]: value })).toEqual([`/${key}`]);
    }
  });

  it('bounds the ids to safe integers from 1, as the validator does', () => {
    for (const key of ['appId', 'flowId', 'siteId'] as const) {
      expect(schema.properties[key]).toMatchObject({ type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
    }
  });
});

describe('registerDateOf', () => {
  it('reads registerDate as UTC', () => {
    expect(registerDateOf(SAMPLE_EVENT).toISOString()).toBe('2020-03-20T12:35:41.000Z');
  });

  it('gives back the second that was formatted, for any date from year 0 to 9999', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (date) => {
        const second = Math.floor(date.getTime() / 1000) * 1000;
        expect(registerDateOf({ registerDate: formatRegisterDate(date) }).getTime()).toBe(second);
      }),
    );
  });

  it('refuses a string that is not such a date', () => {
    expect(() => registerDateOf({ registerDate: '2021-02-29 00:00:00' })).toThrow(RangeError);
    expect(() => registerDateOf({ registerDate: 'yesterday' })).toThrow(RangeError);
  });
});
