/**
 * Greedy CTC decoding of one recognition output (`steps` × `classes` probabilities): the best
 * class per step, repeats collapsed, blanks (class 0) dropped. Class i ≥ 1 is `charset[i - 1]`.
 * Confidence is the mean probability of the emitted characters.
 */
export function ctcGreedyDecode(probs: Float32Array, offset: number, steps: number, classes: number, charset: readonly string[]): { text: string; confidence: number } {
  let text = '';
  let sum = 0;
  let emitted = 0;
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    const row = offset + t * classes;
    let best = 0;
    let bestP = probs[row] as number;
    for (let c = 1; c < classes; c++) {
      const p = probs[row + c] as number;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== 0 && best !== previous) {
      text += charset[best - 1] ?? '';
      sum += bestP;
      emitted++;
    }
    previous = best;
  }
  return { text, confidence: emitted ? sum / emitted : 0 };
}
