// Where Apple's real material lives (../shared/fixtures, beside the project) and how tests that
// need it skip, with a message, when it is absent. Nothing from there is copied into this repo.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** IMR_FIXTURES_DIR overrides the place (point it at an empty folder to see what runs without them). */
export const FIXTURES_DIR = process.env['IMR_FIXTURES_DIR'] || resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures');
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

/**
 * The chat.db schemas a suite runs on: ours ('minimal') always, Apple's when the fixtures are there.
 * Skip goes on each test (`it(name, { skip }, …)`), never on a `describe`: node:test counts a skipped
 * suite as 0 skipped, so coverage that silently disappeared would not show in the summary.
 */
export function schemasToRun(...schemas: ReadonlyArray<AppleSchema | 'minimal'>): Array<{ schema: AppleSchema | 'minimal'; skip: false | string }> {
  return schemas.map((schema) => ({ schema, skip: schema === 'minimal' ? false : needsFixtures }));
}
