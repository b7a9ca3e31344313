import { applyTemperature, temperatureOf } from './calibration';

describe('applyTemperature', () => {
  it('leaves probabilities unchanged at T = 1 and flattens them towards 0.5 for T > 1', () => {
    const p = new Float32Array([0.1, 0.5, 0.9, 0.99]);
    expect(applyTemperature(Float32Array.from(p), 1)).toEqual(p);
    const t2 = applyTemperature(Float32Array.from(p), 2);
    // sigmoid(logit(0.9) / 2) = 0.75
    expect(t2[2]).toBeCloseTo(0.75, 5);
    expect(t2[0]).toBeCloseTo(0.25, 5);
    expect(t2[1]).toBeCloseTo(0.5, 6);
    expect(applyTemperature(Float32Array.from(p), 0.5)[2]).toBeCloseTo(0.81 / 0.82, 5);
  });

  it('keeps 0 and 1 at 0 and 1', () => {
    expect(Array.from(applyTemperature(new Float32Array([0, 1]), 3))).toEqual([0, 1]);
  });
});

describe('temperatureOf', () => {
  it('reads the manifest block, 1 without one, and refuses a non-positive temperature', () => {
    expect(temperatureOf(undefined)).toBe(1);
    expect(temperatureOf(null)).toBe(1);
    expect(temperatureOf({ method: 'temperature', temperature: 1.7 })).toBe(1.7);
    expect(() => temperatureOf({ method: 'temperature', temperature: 0 })).toThrow(/temperature > 0/);
  });
});
