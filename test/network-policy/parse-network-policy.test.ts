import { describe, expect, test } from 'vitest';

import { DEFAULT_NETWORK_POLICY, checkAddress, parseNetworkPolicy } from '../../src/dispatch/network-policy.js';

describe('parseNetworkPolicy (REGHOOK_ALLOW_PRIVATE_NETWORKS)', () => {
  test.each(['false', 'FALSE', ' false ', ''])('%j means the default policy (nothing private)', (value) => {
    expect(parseNetworkPolicy(value)).toEqual(DEFAULT_NETWORK_POLICY);
  });

  test.each(['true', 'True', ' TRUE '])('%j allows everything', (value) => {
    expect(parseNetworkPolicy(value)).toEqual({ allowAll: true, allowList: [] });
  });

  test('a CIDR list is normalised: bare addresses become host routes, IPv6 is compressed, duplicates dropped', () => {
    expect(parseNetworkPolicy(' 127.0.0.0/8, 10.1.0.0/16,::1 , 2001:DB8:0:0::/32,127.0.0.0/8,192.168.1.20')).toEqual({
      allowAll: false,
      allowList: ['127.0.0.0/8', '10.1.0.0/16', '::1/128', '2001:db8::/32', '192.168.1.20/32'],
    });
  });

  test('the parsed policy cannot be mutated', () => {
    const policy = parseNetworkPolicy('10.0.0.0/8');
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.allowList)).toBe(true);
  });

  test.each([
    ['yes', '"yes"'],
    ['1', '"1"'],
    ['10.0.0.0/8,nope', '"nope"'],
    ['10.0.0.0/33', '"10.0.0.0/33"'],
    ['::/129', '"::/129"'],
    ['10.0.0.0/-1', '"10.0.0.0/-1"'],
    ['10.0.0.0/08', '"10.0.0.0/08"'],
    ['10.0.0.0/', '"10.0.0.0/"'],
    ['10.0.0.0/8/8', '"10.0.0.0/8/8"'],
    ['127.1/8', '"127.1/8"'],
    ['0x7f.0.0.0/8', '"0x7f.0.0.0/8"'],
    ['010.0.0.0/8', '"010.0.0.0/8"'],
    ['256.0.0.0/8', '"256.0.0.0/8"'],
    ['[::1]/128', '"[::1]/128"'],
    ['fe80::1%eth0/128', '"fe80::1%eth0/128"'],
    ['127.0.0.1/8', '"127.0.0.1/8"'],
    ['fd00::1/8', '"fd00::1/8"'],
    ['true,10.0.0.0/8', '"true"'],
    ['10.0.0.0/8,', '"10.0.0.0/8,"'],
    ['10.0.0.0/8,,::1', '"10.0.0.0/8,,::1"'],
  ])('rejects %j with a message naming %s', (value, named) => {
    expect(() => parseNetworkPolicy(value)).toThrow(named);
  });

  test('a CIDR with host bits set is rejected with the network it probably meant', () => {
    expect(() => parseNetworkPolicy('10.1.2.3/16')).toThrow('the network is 10.1.0.0/16');
  });

  test('a hand-built policy with a bad CIDR fails loudly instead of allowing or refusing silently', () => {
    expect(() => checkAddress({ allowAll: false, allowList: ['10.0.0.0/99'] }, '10.0.0.1')).toThrow('"10.0.0.0/99"');
  });
});
