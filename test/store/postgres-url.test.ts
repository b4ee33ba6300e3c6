/** REGHOOK_DATABASE_URL for PostgreSQL: schema and pool size parameters, validated at start. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parsePostgresUrl } from '../../src/store/postgres/connection.js';

const options = (connectionString: string) => new URL(connectionString).searchParams.get('options');

describe('parsePostgresUrl', () => {
  it('passes a plain URL through with no schema and the default pool', () => {
    const target = parsePostgresUrl('postgres://reghook:p%40ss@db.internal:5433/reghook?sslmode=require');
    expect(target).toEqual({ connectionString: 'postgres://reghook:p%40ss@db.internal:5433/reghook?sslmode=require', schema: null, poolSize: 10 });
  });

  it('turns ?schema= into the connection search_path, keeping other options', () => {
    const target = parsePostgresUrl('postgres://u@h/db?schema=tenant_a&options=-c%20statement_timeout%3D5000');
    expect(target.schema).toBe('tenant_a');
    expect(options(target.connectionString)).toBe('-c statement_timeout=5000 -c search_path=tenant_a');
    expect(new URL(target.connectionString).searchParams.has('schema')).toBe(false);
  });

  it('reads ?pool_size=', () => {
    const target = parsePostgresUrl('postgresql://u@h/db?pool_size=25');
    expect(target.poolSize).toBe(25);
    expect(new URL(target.connectionString).searchParams.has('pool_size')).toBe(false);
  });

  it.each([
    ['postgres://u@h/db?schema=Bad-Name', /schema "Bad-Name"/],
    ['postgres://u@h/db?schema=x;drop', /schema/],
    ['postgres://u@h/db?pool_size=0', /pool_size="0"/],
    ['postgres://u@h/db?pool_size=ten', /pool_size="ten"/],
    ['postgres://[bad', /not a valid/],
  ])('refuses %s with a clear ConfigError', (url, message) => {
    expect(() => parsePostgresUrl(url)).toThrow(ConfigError);
    expect(() => parsePostgresUrl(url)).toThrow(message);
  });
});
