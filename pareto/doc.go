// Package pareto ranks candidate solutions that are scored on several objectives at once,
// the selection step of evomerge's multi-objective evolutionary search.
//
// It implements the building blocks of NSGA-II as described by
//
//	K. Deb, A. Pratap, S. Agarwal, T. Meyarivan, "A fast and elitist multiobjective
//	genetic algorithm: NSGA-II", IEEE Transactions on Evolutionary Computation 6(2),
//	pp. 182–197, 2002. doi:10.1109/4235.996017
//
// namely Pareto dominance ([Dominates]), the fast non-dominated sort of §III-A
// ([NonDominatedSort], O(M·N²) comparisons for N points and M objectives), the crowding
// distance of §III-B ([CrowdingDistance]), the crowded-comparison operator ≺n of §III-C
// ([CrowdedLess]) and the elitist survival step of §III-C that fills the next population
// front by front ([Survive]); and the hypervolume indicator of a front against a
// reference point ([Hypervolume]), exact, checked against inclusion–exclusion.
//
// # Conventions
//
// A point is a []float64 with one value per objective; dirs gives each objective's
// [Direction]. Objectives may be mixed (maximize accuracy, minimize bytes). A NaN value is
// worse than every number, including the worst infinity, in both directions, so a
// candidate whose benchmark failed never dominates one that produced a score.
//
// Every function is deterministic: ties are broken by the point's index, so the same
// inputs always give the same fronts, distances and survivors. That property is what lets
// a resumed evolution reproduce the front it would have produced without a crash.
//
// # Panics
//
// Mismatched inputs are programming errors, not data errors, and panic with a message
// naming the offending point: a point whose length differs from len(dirs), a Direction
// other than [Maximize] or [Minimize], or a front index outside points.
package pareto
