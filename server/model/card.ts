// Facts from a model card (MODEL_CARD.md): every "- Key: value" / "- **Key**: value" bullet and
// "| Key | value |" table row, keyed by the lowercased key. Cheap and forgiving: a card without
// such lines gives {}.
export function cardFacts(card: string | null): Record<string, string> {
  const facts: Record<string, string> = {};
  if (!card) return facts;
  for (const line of card.split(/\r?\n/)) {
    const bullet = /^\s*[-*]\s+\**([^:*|]{1,60}?)\**\s*:\**\s*(.+?)\s*$/.exec(line);
    const row = /^\s*\|\s*\**([^|*]{1,60}?)\**\s*\|\s*(.+?)\s*\|\s*$/.exec(line);
    const m = bullet ?? row;
    if (!m) continue;
    const key = m[1]!.trim().toLowerCase();
    const value = m[2]!.trim();
    if (!key || /^-+$/.test(value) || key === 'key' || key in facts) continue;
    facts[key] = value;
  }
  return facts;
}
