import Foundation

extension TrainingOptions {
    /// Inputs and classes of the task (``Training/session(_:)`` builds the model with these).
    var taskShape: (inputs: Int, classes: Int) {
        switch task {
        case .parity: (1, 2)
        case .spirals: (2, 3)
        case .digits: (1, 10)
        }
    }

    /// Checks, before anything is allocated, that a run with these options fits `budget`:
    /// the model's parameters with their gradient and optimiser moments (4 copies), the training
    /// and test sets, the training step's forward solve (B samples of dimension C·S_max) and the
    /// phantom estimator's k stored states, and the evaluation solve of `evaluationBatch` test
    /// examples. Each size is multiplied with overflow checks (``Size``), and a refusal names the
    /// option that sets it (`--width`, `--k`, `--test-length`, …), the estimate and the limit.
    public func checkMemory(_ budget: MemoryBudget = .current, evaluationBatch: Int = 64) throws(ResourceError) {
        let (inputs, _) = taskShape
        let d = width, h = innerWidth
        // Parameters per cell kind (float64), times 4: values, gradient, Adam's m and v.
        let cellParameters: Int?
        switch cell {
        case .tanh: cellParameters = Size.sum([Size.product([d, d]), Size.product([d, inputs]), d])
        case .residual: cellParameters = Size.sum([Size.product([2, d, h]), Size.product([d, inputs]), Size.product([6, d])])
        case .conv: cellParameters = Size.sum([Size.product([3, 2, d, h]), Size.product([3, d, inputs]), Size.product([8, d])])
        }
        let widthSource = cell == .tanh || width >= innerWidth ? "--width" : "--inner-width"
        try budget.check(Size.product([cellParameters ?? -1, 4, MemoryLayout<Double>.stride]),
                         for: "the model's parameters, gradient and optimiser moments", source: widthSource)
        // Digits: 8 × 8 images (a bring-your-own image set is checked by ImageDataset's reader).
        let trainPositions = task == .parity ? trainLengthMax : task == .digits ? 64 : 1
        let testPositions = task == .parity ? testLength : task == .digits ? 64 : 1
        try budget.check(Size.product([trainSize, trainPositions, inputs + 1, MemoryLayout<Double>.stride]),
                         for: "the training set of \(trainSize) examples", source: task == .parity ? "--train-size / --max-length" : "--train-size")
        try budget.check(Size.product([testSize, testPositions, inputs + 1, MemoryLayout<Double>.stride]),
                         for: "the test set of \(testSize) examples", source: task == .parity ? "--test-length" : "--test-size")
        // The training step: the forward solve of one batch, and k phantom states.
        guard let trainDimension = Size.product([cell == .conv ? d : max(d, h), trainPositions]),
              let testDimension = Size.product([d, testPositions]) else {
            throw ResourceError(source: task == .parity ? "--width / --test-length" : "--width", what: "the state of one sample",
                                estimate: nil, limit: budget.limit)
        }
        let criteria = (try? StoppingCriteria(tolerance: 1, maxIterations: max(maxIterations, 1), recordHistory: false))
        // A solver name outside the catalog is refused by the options' validation, not here.
        if let criteria, let forwardSolver = try? self.forwardSolver {
            try budget.checkSolve(forwardSolver, batchSize: batchSize, dimension: trainDimension, criteria: criteria,
                                  source: "--width / --batch-size")
            try budget.checkSolve(forwardSolver, batchSize: min(evaluationBatch, testSize), dimension: testDimension,
                                  criteria: criteria, source: task == .parity ? "--test-length" : "--width")
        }
        if estimator == .phantom || estimator == .neumann {
            try budget.check(Size.product([Size.sum([phantomSteps, 2]) ?? -1, batchSize, trainDimension, MemoryLayout<Double>.stride]),
                             for: "the \(phantomSteps) phantom steps' states of a batch", source: "--k")
        }
    }
}
