// A stable id per event, so the hub and webhook receivers can drop duplicates: the same change in
// chat.db always gets the same id, whatever process or retry carries it.
import type { RelayEvent } from './events.js';

export function eventId(e: RelayEvent): string {
  switch (e.kind) {
    case 'edit': return `edit:${e.guid}:${e.edited_at ?? ''}`;
    case 'unsend': return `unsend:${e.guid}`;
    case 'delivery': return `delivery:${e.guid}:${e.status}`;
    default: return `${e.kind}:${e.guid}`;
  }
}
