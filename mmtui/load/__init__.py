"""mmtui's own load generator: likes sent at a steady rate through an address (Lab 5's
accelerator), each answer recorded with its status, latency and the region that served it."""
