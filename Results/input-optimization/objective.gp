# True objective F(x_k) − F* against f evaluations, joint vs nested, seed 1 (run from the repository root).
set terminal pngcairo size 1100,420 font ",10"
set output 'Results/input-optimization/objective.png'
set multiplot layout 1,2
set logscale xy
set xlabel 'f evaluations'
set ylabel 'F(x) − F*  (true objective, re-solved)'
set key top right
d = 'Results/input-optimization/runs/'
Fa = 0.868945018688
set title 'unconstrained, d = 64, ‖W‖ = 0.9, Anderson, α = 0.3'
plot d.'anderson-step0.3-seed1.dat' index 0 using 2:($7-Fa) with lines lw 2 title 'joint (JIIO)', \
     d.'anderson-step0.3-seed1.dat' index 1 using 2:($7-Fa) with linespoints pt 7 ps 0.4 title 'nested (GD)', \
     d.'forward-step0.1-seed1.dat' index 0 using 2:($7-Fa) with lines dt 2 title 'joint, forward iteration, α = 0.1'
Fb = 24.0567084806
set title 'ε-ball ε = 1 around x⁰, Anderson, α = 0.3'
plot d.'anderson-step0.3-ball1-seed1.dat' index 0 using 2:($7-Fb) with lines lw 2 title 'joint (JIIO)', \
     d.'anderson-step0.3-ball1-seed1.dat' index 1 using 2:($7-Fb) with linespoints pt 7 ps 0.4 title 'nested (projected GD)'
unset multiplot
