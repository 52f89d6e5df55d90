# AA score against the iteration budget: median over repeats, bars from min to max.
if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") { set terminal svg size 1200,560 dynamic enhanced font "sans,11" } else { set terminal pngcairo size 1200,560 enhanced font "sans,10" }
set output "aa-budget.".fmt
set grid
set logscale x
set xlabel "iteration budget"
set ylabel "AA score (all pairs; bars: min–max over repeats)"
set key outside right top font ",9"
set title "path-independence: asymptotic alignment against budget (n = 3 repeats)"
plot "aa-budget.dat" index 0 using 1:2:3:4 with yerrorlines lw 2 lc 1 dt 1 title "tanh d=128 B=16 ρ=0.9 · forward", \
     "aa-budget.dat" index 1 using 1:2:3:4 with yerrorlines lw 2 lc 2 dt 1 title "tanh d=128 B=16 ρ=0.9 · anderson", \
     "aa-budget.dat" index 2 using 1:2:3:4 with yerrorlines lw 2 lc 3 dt 1 title "tanh d=128 B=16 ρ=0.99 · forward", \
     "aa-budget.dat" index 3 using 1:2:3:4 with yerrorlines lw 2 lc 4 dt 1 title "tanh d=128 B=16 ρ=0.99 · anderson", \
     "aa-budget.dat" index 4 using 1:2:3:4 with yerrorlines lw 2 lc 5 dt 1 title "tanh d=128 B=16 ρ=1.5 sym s=0.05 · forward", \
     "aa-budget.dat" index 5 using 1:2:3:4 with yerrorlines lw 2 lc 6 dt 1 title "tanh d=128 B=16 ρ=1.5 sym s=0.05 · anderson", \
     "aa-budget.dat" index 6 using 1:2:3:4 with yerrorlines lw 2 lc 7 dt 1 title "tanh d=128 B=16 ρ=3 sym s=0.05 · forward", \
     "aa-budget.dat" index 7 using 1:2:3:4 with yerrorlines lw 2 lc 8 dt 1 title "tanh d=128 B=16 ρ=3 sym s=0.05 · anderson", \
     "aa-budget.dat" index 8 using 1:2:3:4 with yerrorlines lw 2 lc 1 dt 2 title "residual d=64 h=128 B=16 · forward", \
     "aa-budget.dat" index 9 using 1:2:3:4 with yerrorlines lw 2 lc 2 dt 2 title "residual d=64 h=128 B=16 · anderson", \
     "aa-budget.dat" index 10 using 1:2:3:4 with yerrorlines lw 2 lc 3 dt 2 title "conv2d C=16 h=32 H=8 W=8 B=8 · forward", \
     "aa-budget.dat" index 11 using 1:2:3:4 with yerrorlines lw 2 lc 4 dt 2 title "conv2d C=16 h=32 H=8 W=8 B=8 · anderson", \
     "aa-budget.dat" index 12 using 1:2:3:4 with yerrorlines lw 2 lc 5 dt 2 title "monotone d=64 B=16 · forward", \
     "aa-budget.dat" index 13 using 1:2:3:4 with yerrorlines lw 2 lc 6 dt 2 title "monotone d=64 B=16 · anderson"
