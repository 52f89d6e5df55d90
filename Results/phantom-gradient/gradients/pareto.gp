# Gradient error against backward time: the cost–accuracy trade-off of every estimator.
if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") { set terminal svg size 1680,1440 dynamic enhanced font "sans,11" } else { set terminal pngcairo size 1680,1440 enhanced font "sans,10" }
set output "pareto.".fmt
set grid
set multiplot layout 3,3 title "phantom-gradient: relative error against backward time (forward solver broyden)"
set logscale xy
set format y "10^{%L}"
set format x "10^{%L}"
set xlabel "backward time (s)"
set ylabel "relative error of dL/dθ"
set key outside bottom center horizontal font ",8"
set title "tanh d=512 B=8 ρ=0.5 sym s=0.05" font ",9"
plot "pareto.dat" index 0 using 1:2 with points pt 7 ps 1.4 lc rgb "#000000" title "exact", \
     "pareto.dat" index 1 using 1:2 with points pt 5 ps 1 lc rgb "#1f77b4" title "phantom", \
     "pareto.dat" index 2 using 1:2 with points pt 9 ps 1 lc rgb "#2ca02c" title "neumann", \
     "pareto.dat" index 3 using 1:2 with points pt 13 ps 1.6 lc rgb "#d62728" title "jfb", \
     "pareto.dat" index 4 using 1:2 with points pt 11 ps 1.6 lc rgb "#ff7f0e" title "shine", \
     "pareto.dat" index 5 using 1:2 with steps lw 1 dt 2 lc rgb "gray50" title "front", \
     "pareto.dat" index 0 using 1:2:3 with labels offset 0,1 font ",7" notitle
set title "tanh d=512 B=8 ρ=0.8 sym s=0.05" font ",9"
plot "pareto.dat" index 6 using 1:2 with points pt 7 ps 1.4 lc rgb "#000000" title "exact", \
     "pareto.dat" index 7 using 1:2 with points pt 5 ps 1 lc rgb "#1f77b4" title "phantom", \
     "pareto.dat" index 8 using 1:2 with points pt 9 ps 1 lc rgb "#2ca02c" title "neumann", \
     "pareto.dat" index 9 using 1:2 with points pt 13 ps 1.6 lc rgb "#d62728" title "jfb", \
     "pareto.dat" index 10 using 1:2 with points pt 11 ps 1.6 lc rgb "#ff7f0e" title "shine", \
     "pareto.dat" index 11 using 1:2 with steps lw 1 dt 2 lc rgb "gray50" title "front", \
     "pareto.dat" index 6 using 1:2:3 with labels offset 0,1 font ",7" notitle
set title "tanh d=512 B=8 ρ=0.9 sym s=0.05" font ",9"
plot "pareto.dat" index 12 using 1:2 with points pt 7 ps 1.4 lc rgb "#000000" title "exact", \
     "pareto.dat" index 13 using 1:2 with points pt 5 ps 1 lc rgb "#1f77b4" title "phantom", \
     "pareto.dat" index 14 using 1:2 with points pt 9 ps 1 lc rgb "#2ca02c" title "neumann", \
     "pareto.dat" index 15 using 1:2 with points pt 13 ps 1.6 lc rgb "#d62728" title "jfb", \
     "pareto.dat" index 16 using 1:2 with points pt 11 ps 1.6 lc rgb "#ff7f0e" title "shine", \
     "pareto.dat" index 17 using 1:2 with steps lw 1 dt 2 lc rgb "gray50" title "front", \
     "pareto.dat" index 12 using 1:2:3 with labels offset 0,1 font ",7" notitle
set title "tanh d=512 B=8 ρ=0.95 sym s=0.05" font ",9"
plot "pareto.dat" index 18 using 1:2 with points pt 7 ps 1.4 lc rgb "#000000" title "exact", \
     "pareto.dat" index 19 using 1:2 with points pt 5 ps 1 lc rgb "#1f77b4" title "phantom", \
     "pareto.dat" index 20 using 1:2 with points pt 9 ps 1 lc rgb "#2ca02c" title "neumann", \
     "pareto.dat" index 21 using 1:2 with points pt 13 ps 1.6 lc rgb "#d62728" title "jfb", \
     "pareto.dat" index 22 using 1:2 with points pt 11 ps 1.6 lc rgb "#ff7f0e" title "shine", \
     "pareto.dat" index 23 using 1:2 with steps lw 1 dt 2 lc rgb "gray50" title "front", \
     "pareto.dat" index 18 using 1:2:3 with labels offset 0,1 font ",7" notitle
set title "tanh d=512 B=8 ρ=0.99 sym s=0.05" font ",9"
plot "pareto.dat" index 24 using 1:2 with points pt 7 ps 1.4 lc rgb "#000000" title "exact", \
     "pareto.dat" index 25 using 1:2 with points pt 5 ps 1 lc rgb "#1f77b4" title "phantom", \
     "pareto.dat" index 26 using 1:2 with points pt 9 ps 1 lc rgb "#2ca02c" title "neumann", \
     "pareto.dat" index 27 using 1:2 with points pt 13 ps 1.6 lc rgb "#d62728" title "jfb", \
     "pareto.dat" index 28 using 1:2 with points pt 11 ps 1.6 lc rgb "#ff7f0e" title "shine", \
     "pareto.dat" index 29 using 1:2 with steps lw 1 dt 2 lc rgb "gray50" title "front", \
     "pareto.dat" index 24 using 1:2:3 with labels offset 0,1 font ",7" notitle
set title "tanh d=512 B=8 ρ=0.9" font ",9"
plot "pareto.dat" index 30 using 1:2 with points pt 7 ps 1.4 lc rgb "#000000" title "exact", \
     "pareto.dat" index 31 using 1:2 with points pt 5 ps 1 lc rgb "#1f77b4" title "phantom", \
     "pareto.dat" index 32 using 1:2 with points pt 9 ps 1 lc rgb "#2ca02c" title "neumann", \
     "pareto.dat" index 33 using 1:2 with points pt 13 ps 1.6 lc rgb "#d62728" title "jfb", \
     "pareto.dat" index 34 using 1:2 with points pt 11 ps 1.6 lc rgb "#ff7f0e" title "shine", \
     "pareto.dat" index 35 using 1:2 with steps lw 1 dt 2 lc rgb "gray50" title "front", \
     "pareto.dat" index 30 using 1:2:3 with labels offset 0,1 font ",7" notitle
set title "residual d=64 h=128 B=8 σ=0.1" font ",9"
plot "pareto.dat" index 36 using 1:2 with points pt 7 ps 1.4 lc rgb "#000000" title "exact", \
     "pareto.dat" index 37 using 1:2 with points pt 5 ps 1 lc rgb "#1f77b4" title "phantom", \
     "pareto.dat" index 38 using 1:2 with points pt 9 ps 1 lc rgb "#2ca02c" title "neumann", \
     "pareto.dat" index 39 using 1:2 with points pt 13 ps 1.6 lc rgb "#d62728" title "jfb", \
     "pareto.dat" index 40 using 1:2 with points pt 11 ps 1.6 lc rgb "#ff7f0e" title "shine", \
     "pareto.dat" index 41 using 1:2 with steps lw 1 dt 2 lc rgb "gray50" title "front", \
     "pareto.dat" index 36 using 1:2:3 with labels offset 0,1 font ",7" notitle
set title "conv1d C=16 h=32 L=32 B=8" font ",9"
plot "pareto.dat" index 42 using 1:2 with points pt 7 ps 1.4 lc rgb "#000000" title "exact", \
     "pareto.dat" index 43 using 1:2 with points pt 5 ps 1 lc rgb "#1f77b4" title "phantom", \
     "pareto.dat" index 44 using 1:2 with points pt 9 ps 1 lc rgb "#2ca02c" title "neumann", \
     "pareto.dat" index 45 using 1:2 with points pt 13 ps 1.6 lc rgb "#d62728" title "jfb", \
     "pareto.dat" index 46 using 1:2 with points pt 11 ps 1.6 lc rgb "#ff7f0e" title "shine", \
     "pareto.dat" index 47 using 1:2 with steps lw 1 dt 2 lc rgb "gray50" title "front", \
     "pareto.dat" index 42 using 1:2:3 with labels offset 0,1 font ",7" notitle
set title "monotone d=64 B=8 m=0.5" font ",9"
plot "pareto.dat" index 48 using 1:2 with points pt 7 ps 1.4 lc rgb "#000000" title "exact", \
     "pareto.dat" index 49 using 1:2 with points pt 5 ps 1 lc rgb "#1f77b4" title "phantom", \
     "pareto.dat" index 50 using 1:2 with points pt 9 ps 1 lc rgb "#2ca02c" title "neumann", \
     "pareto.dat" index 51 using 1:2 with points pt 13 ps 1.6 lc rgb "#d62728" title "jfb", \
     "pareto.dat" index 52 using 1:2 with points pt 11 ps 1.6 lc rgb "#ff7f0e" title "shine", \
     "pareto.dat" index 53 using 1:2 with steps lw 1 dt 2 lc rgb "gray50" title "front", \
     "pareto.dat" index 48 using 1:2:3 with labels offset 0,1 font ",7" notitle
unset multiplot
