"""Objective measures of what a body does, from simulator states (numpy only): flips, speed, one-leg time,
and the planar forward kinematics of the Hopper and the Half-Cheetah they need."""
