import unittest

import numpy as np

from trainer.leader_trainer.metrics import average_precision, choose_threshold, ddi_rate, evaluate


class MetricsTest(unittest.TestCase):
    def test_average_precision_matches_sklearn_definition(self):
        # sklearn.metrics.average_precision_score([1,0,1,0], [0.9,0.8,0.7,0.1]) = (1 + 2/3) / 2
        self.assertAlmostEqual(average_precision(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1])), 5 / 6)
        # tied scores form one step: ([1,0,1,0], [0.5,0.5,0.5,0.1]) -> 2/3
        self.assertAlmostEqual(average_precision(np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.5, 0.1])), 2 / 3)
        self.assertEqual(average_precision(np.array([0, 0]), np.array([0.3, 0.2])), 0.0)

    def test_sample_wise_jaccard_f1_and_avg_med(self):
        y = np.array([[1, 1, 0, 0], [0, 0, 1, 0]])
        p = np.array([[0.9, 0.1, 0.8, 0.0], [0.0, 0.0, 0.0, 0.0]])
        m = evaluate(y, p, 0.3, [], 4)
        # sample 0: pred {0,2}, true {0,1}: J = 1/3, P = R = 1/2, F1 = 1/2; sample 1: empty pred -> 0
        self.assertAlmostEqual(m["jaccard"], (1 / 3) / 2)
        self.assertAlmostEqual(m["f1"], 0.25)
        self.assertAlmostEqual(m["avg_med"], 1.0)

    def test_ddi_rate_pools_unordered_pairs(self):
        pred = np.array([[1, 1, 1, 0], [0, 0, 1, 1]])
        # pairs: (0,1),(0,2),(1,2),(2,3) -> interacting (0,2) and (2,3)
        self.assertAlmostEqual(ddi_rate(pred, [[0, 2], [2, 3]], 4), 2 / 4)
        self.assertEqual(ddi_rate(np.array([[1, 0, 0, 0]]), [[0, 1]], 4), 0.0)

    def test_threshold_maximises_validation_f1_or_defaults_to_0_3(self):
        y = np.array([[1, 0, 0], [0, 1, 0]])
        p = np.array([[0.62, 0.5, 0.1], [0.2, 0.7, 0.55]])
        t, source = choose_threshold(y, p)
        self.assertTrue(0.55 <= t < 0.62, t)
        self.assertIn("validation", source)
        self.assertEqual(choose_threshold(np.zeros((0, 3)), np.zeros((0, 3)))[0], 0.3)


if __name__ == "__main__":
    unittest.main()


class CalibrationTest(unittest.TestCase):
    def test_temperature_formula_and_identity(self):
        from trainer.leader_trainer.metrics import apply_temperature
        p = np.array([[0.1, 0.5, 0.9]], dtype=np.float32)
        np.testing.assert_array_equal(apply_temperature(p, 1.0), p)
        np.testing.assert_allclose(apply_temperature(p, 2.0), [[0.25, 0.5, 0.75]], atol=1e-6)

    def test_ece_and_a_fitted_temperature_that_lowers_it(self):
        from trainer.leader_trainer.metrics import apply_temperature, expected_calibration_error, fit_temperature
        rng = np.random.default_rng(0)
        true_p = rng.uniform(0.02, 0.98, size=(400, 5))
        y = (rng.uniform(size=true_p.shape) < true_p).astype(np.float32)
        logit = np.log(true_p / (1 - true_p))
        overconfident = (1 / (1 + np.exp(-3.0 * logit))).astype(np.float32)  # = temperature 1/3
        t, info = fit_temperature(y, overconfident)
        self.assertTrue(info["kept"])
        self.assertAlmostEqual(t, 3.0, delta=0.5)
        self.assertLess(expected_calibration_error(y, apply_temperature(overconfident, t)),
                        expected_calibration_error(y, overconfident))
        # already calibrated: no temperature is kept unless it lowers the ECE
        t1, info1 = fit_temperature(y, true_p.astype(np.float32))
        self.assertTrue(t1 == 1.0 or info1["valEceAfter"] < info1["valEceBefore"])
