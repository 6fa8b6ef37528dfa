//! The transformations themselves: higher-order gradients, captured constants,
//! value_and_grad over trees, checkpoint, custom functions and their errors.
