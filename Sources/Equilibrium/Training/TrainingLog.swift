import Foundation

/// The per-epoch log as `log.tsv` (one row per epoch) and a gnuplot script `log.gp` that draws
/// loss and accuracies against epochs into `log.png` (rendered by `gnuplot log.gp`).
public enum TrainingLog {
    public static let columns = ["epoch", "loss", "accuracy", "test_accuracy", "forward_nfe", "backward_vjps",
                                 "forward_seconds", "backward_seconds", "epoch_seconds", "steps", "forward_converged", "backward_converged"]

    public static func tsv(_ log: [EpochRecord]) -> String {
        var text = columns.joined(separator: "\t") + "\n"
        for r in log {
            let fields: [String] = [String(r.epoch), String(r.loss), String(r.accuracy), String(r.testAccuracy),
                                    String(r.forwardEvaluations), String(r.backwardProducts), String(r.forwardSeconds),
                                    String(r.backwardSeconds), String(r.epochSeconds), String(r.steps),
                                    String(r.forwardConverged), String(r.backwardConverged)]
            text += fields.joined(separator: "\t") + "\n"
        }
        return text
    }

    public static func write(_ log: [EpochRecord], to directory: URL) throws {
        try AtomicFile.write(tsv(log), to: directory.appendingPathComponent("log.tsv"))
        let script = """
        set terminal pngcairo size 900,400
        set output 'log.png'
        set multiplot layout 1,2
        set xlabel 'epoch'
        set ylabel 'loss'
        plot 'log.tsv' using 1:2 with linespoints title 'train loss'
        set ylabel 'accuracy'
        set yrange [0:1]
        plot 'log.tsv' using 1:3 with linespoints title 'train', '' using 1:4 with linespoints title 'test'
        unset multiplot

        """
        try AtomicFile.write(script, to: directory.appendingPathComponent("log.gp"))
    }
}
