// Level curves (dataflow/src/settings.rs): "sqrt" level = floor(sqrt(xp/100)), "mee6" as MEE6.

export function xpForLevel(curve, level) {
  if (curve === 'mee6') {
    let sum = 0;
    for (let k = 0; k < level; k++) sum += 5 * k * k + 50 * k + 100;
    return sum;
  }
  return 100 * level * level;
}

export function levelOf(curve, xp) {
  let l = 0;
  while (xpForLevel(curve, l + 1) <= xp && l < 10000) l++;
  return l;
}

/** The curve consistent with (xp, level) as the API reported them; `hint` from settings wins. */
export function detectCurve(xp, level, hint) {
  if (hint === 'sqrt' || hint === 'mee6') return hint;
  return levelOf('sqrt', xp) === level ? 'sqrt' : levelOf('mee6', xp) === level ? 'mee6' : null;
}

/** {from, to, into, need, fraction} for the progress towards level+1. */
export function progress(curve, xp, level) {
  const from = xpForLevel(curve, level), to = xpForLevel(curve, level + 1);
  return { from, to, into: xp - from, need: to - xp, fraction: (xp - from) / (to - from) };
}
