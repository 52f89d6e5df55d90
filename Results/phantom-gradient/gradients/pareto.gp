# Gradient error against backward time (top) and VJPs per sample (bottom): every estimator's cost–accuracy trade-off.
# Points: medians over the repeats; bars: min–max. Implicit: one line per backward solver through its tolerances.
if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") { set terminal svg size 4320,1000 dynamic enhanced font "sans,11" } else { set terminal pngcairo size 4320,1000 enhanced font "sans,10" }
set output "pareto.".fmt
set grid
set multiplot layout 2,9 title "phantom-gradient: relative error against backward cost (forward solver broyden, n = 3 repeats)"
set logscale xy
set format y "10^{%L}"
set format x "10^{%L}"
set ylabel "relative error of dL/dθ"
set key bottom left font ",7"
set xlabel "backward time (s)"
set title "tanh d=512 B=8 ρ=0.5 sym s=0.05" font ",9"
plot "pareto.dat" index 0 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 1 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 2 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 3 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 4 using 1:4:2:3:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 5 using 1:4:2:3:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 6 using 1:4:2:3:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 7 using 1:4:2:3:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine", \
     "pareto.dat" index 8 using 1:4 with steps lw 1 dt 2 lc rgb "gray50" title "front"
unset key
set xlabel "backward time (s)"
set title "tanh d=512 B=8 ρ=0.8 sym s=0.05" font ",9"
plot "pareto.dat" index 9 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 10 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 11 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 12 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 13 using 1:4:2:3:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 14 using 1:4:2:3:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 15 using 1:4:2:3:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 16 using 1:4:2:3:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine", \
     "pareto.dat" index 17 using 1:4 with steps lw 1 dt 2 lc rgb "gray50" title "front"
unset key
set xlabel "backward time (s)"
set title "tanh d=512 B=8 ρ=0.9 sym s=0.05" font ",9"
plot "pareto.dat" index 18 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 19 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 20 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 21 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 22 using 1:4:2:3:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 23 using 1:4:2:3:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 24 using 1:4:2:3:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 25 using 1:4:2:3:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine", \
     "pareto.dat" index 26 using 1:4 with steps lw 1 dt 2 lc rgb "gray50" title "front"
unset key
set xlabel "backward time (s)"
set title "tanh d=512 B=8 ρ=0.95 sym s=0.05" font ",9"
plot "pareto.dat" index 27 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 28 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 29 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 30 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 31 using 1:4:2:3:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 32 using 1:4:2:3:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 33 using 1:4:2:3:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 34 using 1:4:2:3:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine", \
     "pareto.dat" index 35 using 1:4 with steps lw 1 dt 2 lc rgb "gray50" title "front"
unset key
set xlabel "backward time (s)"
set title "tanh d=512 B=8 ρ=0.99 sym s=0.05" font ",9"
plot "pareto.dat" index 36 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 37 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 38 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 39 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 40 using 1:4:2:3:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 41 using 1:4:2:3:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 42 using 1:4:2:3:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 43 using 1:4:2:3:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine", \
     "pareto.dat" index 44 using 1:4 with steps lw 1 dt 2 lc rgb "gray50" title "front"
unset key
set xlabel "backward time (s)"
set title "tanh d=512 B=8 ρ=0.9" font ",9"
plot "pareto.dat" index 45 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 46 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 47 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 48 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 49 using 1:4:2:3:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 50 using 1:4:2:3:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 51 using 1:4:2:3:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 52 using 1:4:2:3:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine", \
     "pareto.dat" index 53 using 1:4 with steps lw 1 dt 2 lc rgb "gray50" title "front"
unset key
set xlabel "backward time (s)"
set title "residual d=64 h=128 B=8 σ=0.1" font ",9"
plot "pareto.dat" index 54 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 55 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 56 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 57 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 58 using 1:4:2:3:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 59 using 1:4:2:3:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 60 using 1:4:2:3:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 61 using 1:4:2:3:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine", \
     "pareto.dat" index 62 using 1:4 with steps lw 1 dt 2 lc rgb "gray50" title "front"
unset key
set xlabel "backward time (s)"
set title "conv1d C=16 h=32 L=32 B=8" font ",9"
plot "pareto.dat" index 63 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 64 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 65 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 66 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 67 using 1:4:2:3:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 68 using 1:4:2:3:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 69 using 1:4:2:3:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 70 using 1:4:2:3:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine", \
     "pareto.dat" index 71 using 1:4 with steps lw 1 dt 2 lc rgb "gray50" title "front"
unset key
set xlabel "backward time (s)"
set title "monotone d=64 B=8 m=0.5" font ",9"
plot "pareto.dat" index 72 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 73 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 74 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 75 using 1:4:2:3:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 76 using 1:4:2:3:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 77 using 1:4:2:3:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 78 using 1:4:2:3:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 79 using 1:4:2:3:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine", \
     "pareto.dat" index 80 using 1:4 with steps lw 1 dt 2 lc rgb "gray50" title "front"
unset key
set xlabel "VJPs per sample"
set title "tanh d=512 B=8 ρ=0.5 sym s=0.05" font ",9"
plot "pareto.dat" index 0 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 1 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 2 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 3 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 4 using 7:4:8:9:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 5 using 7:4:8:9:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 6 using 7:4:8:9:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 7 using 7:4:8:9:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine"
unset key
set xlabel "VJPs per sample"
set title "tanh d=512 B=8 ρ=0.8 sym s=0.05" font ",9"
plot "pareto.dat" index 9 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 10 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 11 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 12 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 13 using 7:4:8:9:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 14 using 7:4:8:9:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 15 using 7:4:8:9:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 16 using 7:4:8:9:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine"
unset key
set xlabel "VJPs per sample"
set title "tanh d=512 B=8 ρ=0.9 sym s=0.05" font ",9"
plot "pareto.dat" index 18 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 19 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 20 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 21 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 22 using 7:4:8:9:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 23 using 7:4:8:9:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 24 using 7:4:8:9:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 25 using 7:4:8:9:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine"
unset key
set xlabel "VJPs per sample"
set title "tanh d=512 B=8 ρ=0.95 sym s=0.05" font ",9"
plot "pareto.dat" index 27 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 28 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 29 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 30 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 31 using 7:4:8:9:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 32 using 7:4:8:9:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 33 using 7:4:8:9:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 34 using 7:4:8:9:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine"
unset key
set xlabel "VJPs per sample"
set title "tanh d=512 B=8 ρ=0.99 sym s=0.05" font ",9"
plot "pareto.dat" index 36 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 37 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 38 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 39 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 40 using 7:4:8:9:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 41 using 7:4:8:9:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 42 using 7:4:8:9:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 43 using 7:4:8:9:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine"
unset key
set xlabel "VJPs per sample"
set title "tanh d=512 B=8 ρ=0.9" font ",9"
plot "pareto.dat" index 45 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 46 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 47 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 48 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 49 using 7:4:8:9:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 50 using 7:4:8:9:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 51 using 7:4:8:9:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 52 using 7:4:8:9:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine"
unset key
set xlabel "VJPs per sample"
set title "residual d=64 h=128 B=8 σ=0.1" font ",9"
plot "pareto.dat" index 54 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 55 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 56 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 57 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 58 using 7:4:8:9:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 59 using 7:4:8:9:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 60 using 7:4:8:9:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 61 using 7:4:8:9:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine"
unset key
set xlabel "VJPs per sample"
set title "conv1d C=16 h=32 L=32 B=8" font ",9"
plot "pareto.dat" index 63 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 64 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 65 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 66 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 67 using 7:4:8:9:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 68 using 7:4:8:9:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 69 using 7:4:8:9:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 70 using 7:4:8:9:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine"
unset key
set xlabel "VJPs per sample"
set title "monotone d=64 B=8 m=0.5" font ",9"
plot "pareto.dat" index 72 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 7 ps 1.2 lc rgb "#000000" title "implicit anderson", \
     "pareto.dat" index 73 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 5 ps 1 lc rgb "#1f77b4" title "implicit broyden", \
     "pareto.dat" index 74 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 9 ps 1 lc rgb "#2ca02c" title "implicit newton-krylov", \
     "pareto.dat" index 75 using 7:4:8:9:5:6 with xyerrorlines lw 1 pt 13 ps 1.4 lc rgb "#d62728" title "implicit forward", \
     "pareto.dat" index 76 using 7:4:8:9:5:6 with xyerrorbars pt 11 ps 1.4 lc rgb "#ff7f0e" title "phantom", \
     "pareto.dat" index 77 using 7:4:8:9:5:6 with xyerrorbars pt 4 ps 1 lc rgb "#9467bd" title "neumann", \
     "pareto.dat" index 78 using 7:4:8:9:5:6 with xyerrorbars pt 6 ps 1 lc rgb "#8c564b" title "jfb", \
     "pareto.dat" index 79 using 7:4:8:9:5:6 with xyerrorbars pt 8 ps 1 lc rgb "#e377c2" title "shine"
unset multiplot
