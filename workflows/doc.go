// Package workflows holds evomerge's Temporal workflows.
//
// EvolutionWorkflow is one run: ingest the seed models, one GenerationWorkflow child per
// generation, compress and gate the final front, write the report. GenerationWorkflow is
// one generation: breed child recipes, evaluate each child (merge → compress → benchmark
// → gate) with bounded parallelism, and keep the next population by NSGA-II survival.
//
// Workflow code only orchestrates: every computation and all I/O happen in activities
// (package activities), whose retry and timeout policies are set in options.go. Inputs
// and results are small JSON values — configs, recipes, artifact refs and scores — and
// the run's state (RunState) is a plain value, carried across continue-as-new. Nothing
// here iterates a map, reads the clock other than workflow.Now, or draws random numbers:
// randomness lives in the Ask activity: the search strategy, seeded by the run seed, with its state carried in the run.
//
// Queries: "progress" on both workflows, "front" on EvolutionWorkflow. Search
// attributes: EvoRun, EvoGeneration, EvoBestScore, EvoHypervolume, EvoStage.
package workflows
