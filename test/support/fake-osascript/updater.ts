// Messages after the fake osascript has returned, in its own process (the script's process is gone).
import { advanceRows } from '../../../relay/simulator/messages-app/after-send.js';
import type { WrittenRow } from '../../../relay/simulator/messages-app/rows.js';
import type { Scenario } from '../../../relay/simulator/messages-app/scenario.js';

const { scenario, rows } = JSON.parse(process.argv[2] ?? '{}') as { scenario: Scenario; rows: WrittenRow[] };
await advanceRows(scenario, rows);
