package app

// InterruptContext is interruptContext, for tests.
var InterruptContext = interruptContext
