// Where Apple's real material lives (../shared/fixtures, beside the project) and how tests that
// need it skip, with a message, when it is absent. Nothing from there is copied into this repo.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures');
export const HAVE_FIXTURES = existsSync(join(FIXTURES_DIR, 'chat-db-schema.sql'));

/** `skip` option for node:test: false when the fixtures are there, else the reason. */
export const needsFixtures: false | string = HAVE_FIXTURES
  ? false
  : `Apple fixtures not found at ${FIXTURES_DIR} (../shared/fixtures beside the project); skipped`;

export function fixture(...parts: string[]): Buffer {
  return readFileSync(join(FIXTURES_DIR, ...parts));
}

export function fixtureText(...parts: string[]): string {
  return readFileSync(join(FIXTURES_DIR, ...parts), 'utf8');
}

export type AppleSchema = 'macos15' | 'macos26';

/** Apple's schema plus its plain-SQL triggers, as SQL scripts to run in order. */
export function appleSchema(version: AppleSchema): string[] {
  return version === 'macos15'
    ? [fixtureText('chat-db-schema.sql'), fixtureText('chat-db-triggers-portable.sql')]
    : [fixtureText('chat-db-schema-macos26.sql'), fixtureText('chat-db-triggers-portable-macos26.sql')];
}
