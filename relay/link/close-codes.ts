// WebSocket close codes the link uses (PROTOCOL.md §5). 1000–1015 are the standard ones.

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  TooBig: 1009,
  TryLater: 1013,
  Protocol: 4001,
  BadFrame: 4002,
  UnknownKey: 4003,
  WrongServerKey: 4004,
  Replaced: 4005,
  Dead: 4008,
  HandshakeTimeout: 4009,
} as const;

export function closeReason(code: number): string {
  switch (code) {
    case CloseCode.Normal: return 'normal';
    case CloseCode.GoingAway: return 'going away';
    case CloseCode.TooBig: return 'frame too large';
    case CloseCode.TryLater: return 'too many handshakes: try again later';
    case CloseCode.Protocol: return 'protocol error';
    case CloseCode.BadFrame: return 'frame failed authentication (replayed, reordered, truncated or tampered)';
    case CloseCode.UnknownKey: return 'unknown relay key';
    case CloseCode.WrongServerKey: return 'hub key does not match the pinned key';
    case CloseCode.Replaced: return 'replaced by a newer connection';
    case CloseCode.Dead: return 'no heartbeat';
    case CloseCode.HandshakeTimeout: return 'handshake timed out';
    default: return `code ${code}`;
  }
}
