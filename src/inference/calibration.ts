/**
 * Temperature scaling (Guo et al. 2017): the one function that turns the ONNX graph's sigmoid outputs
 * into the calibrated probabilities the cards show. StudentModel.predict applies it, so serving,
 * `leader evaluate` and `leader cv` all read the same numbers. The trainer fits the temperature on
 * validation (trainer/leader_trainer/metrics.py fit_temperature, same formula) and stores it in the
 * manifest's `calibration` block; T = 1 (or no block) leaves the probabilities untouched.
 */
export interface TemperatureCalibration {
  method: 'temperature';
  temperature: number;
  /** Where it was fitted ('validation') and the validation ECE before / after, as the trainer wrote them. */
  fittedOn?: string;
  valEceBefore?: number;
  valEceAfter?: number;
}

/** p' = sigmoid(logit(p) / T) for every entry, in place; returns `probs`. */
export function applyTemperature(probs: Float32Array, temperature: number): Float32Array {
  if (temperature === 1) return probs;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    const logit = Math.log(p) - Math.log1p(-p);
    probs[i] = 1 / (1 + Math.exp(-logit / temperature));
  }
  return probs;
}

/** The manifest's temperature, checked: a positive finite number, 1 when the block is absent. */
export function temperatureOf(calibration: TemperatureCalibration | null | undefined): number {
  if (calibration === undefined || calibration === null) return 1;
  const t = calibration.temperature;
  if (calibration.method !== 'temperature' || typeof t !== 'number' || !Number.isFinite(t) || t <= 0) {
    throw new RangeError(`calibration must be { method: "temperature", temperature > 0 }, got ${JSON.stringify(calibration)}`);
  }
  return t;
}
