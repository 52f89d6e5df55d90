# Phantom and Neumann gradients: cosine (top) and relative error (bottom) against k, per λ.
if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") { set terminal svg size 3780,820 dynamic enhanced font "sans,11" } else { set terminal pngcairo size 3780,820 enhanced font "sans,10" }
set output "cosine-k.".fmt
set grid
set multiplot layout 2,9 title "phantom-gradient: phantom gradients against the exact one (forward solver broyden; Neumann, open circles, equals unrolled at a fixed point)"
set logscale x
set xlabel "k"
set xrange [0.9:23]
set key bottom right font ",8"
set key bottom right font ",8"
set title "tanh d=512 B=8 ρ=0.5 sym s=0.05" font ",9"
set ylabel "cosine with the exact gradient (bars: min–max over repeats)"
unset logscale y
set format y "%g"
plot "cosine-k.dat" index 0 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 1 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 2 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 3 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 4 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 5 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1", \
     0.99 with lines dt 3 lc rgb "gray40" title "cos = 0.99"
unset key
set title "tanh d=512 B=8 ρ=0.8 sym s=0.05" font ",9"
set ylabel "cosine with the exact gradient (bars: min–max over repeats)"
unset logscale y
set format y "%g"
plot "cosine-k.dat" index 6 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 7 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 8 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 9 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 10 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 11 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1", \
     0.99 with lines dt 3 lc rgb "gray40" title "cos = 0.99"
unset key
set title "tanh d=512 B=8 ρ=0.9 sym s=0.05" font ",9"
set ylabel "cosine with the exact gradient (bars: min–max over repeats)"
unset logscale y
set format y "%g"
plot "cosine-k.dat" index 12 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 13 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 14 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 15 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 16 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 17 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1", \
     0.99 with lines dt 3 lc rgb "gray40" title "cos = 0.99"
unset key
set title "tanh d=512 B=8 ρ=0.95 sym s=0.05" font ",9"
set ylabel "cosine with the exact gradient (bars: min–max over repeats)"
unset logscale y
set format y "%g"
plot "cosine-k.dat" index 18 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 19 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 20 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 21 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 22 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 23 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1", \
     0.99 with lines dt 3 lc rgb "gray40" title "cos = 0.99"
unset key
set title "tanh d=512 B=8 ρ=0.99 sym s=0.05" font ",9"
set ylabel "cosine with the exact gradient (bars: min–max over repeats)"
unset logscale y
set format y "%g"
plot "cosine-k.dat" index 24 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 25 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 26 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 27 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 28 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 29 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1", \
     0.99 with lines dt 3 lc rgb "gray40" title "cos = 0.99"
unset key
set title "tanh d=512 B=8 ρ=0.9" font ",9"
set ylabel "cosine with the exact gradient (bars: min–max over repeats)"
unset logscale y
set format y "%g"
plot "cosine-k.dat" index 30 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 31 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 32 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 33 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 34 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 35 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1", \
     0.99 with lines dt 3 lc rgb "gray40" title "cos = 0.99"
unset key
set title "residual d=64 h=128 B=8 σ=0.1" font ",9"
set ylabel "cosine with the exact gradient (bars: min–max over repeats)"
unset logscale y
set format y "%g"
plot "cosine-k.dat" index 36 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 37 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 38 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 39 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 40 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 41 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1", \
     0.99 with lines dt 3 lc rgb "gray40" title "cos = 0.99"
unset key
set title "conv1d C=16 h=32 L=32 B=8" font ",9"
set ylabel "cosine with the exact gradient (bars: min–max over repeats)"
unset logscale y
set format y "%g"
plot "cosine-k.dat" index 42 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 43 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 44 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 45 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 46 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 47 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1", \
     0.99 with lines dt 3 lc rgb "gray40" title "cos = 0.99"
unset key
set title "monotone d=64 B=8 m=0.5" font ",9"
set ylabel "cosine with the exact gradient (bars: min–max over repeats)"
unset logscale y
set format y "%g"
plot "cosine-k.dat" index 48 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 49 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 50 using 1:2:3:4 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 51 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 52 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 53 using 1:2:3:4 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1", \
     0.99 with lines dt 3 lc rgb "gray40" title "cos = 0.99"
set key bottom left font ",8"
set title "tanh d=512 B=8 ρ=0.5 sym s=0.05" font ",9"
set ylabel "relative error ‖g − g*‖/‖g*‖"
set logscale y
set format y "10^{%L}"
plot "cosine-k.dat" index 0 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 1 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 2 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 3 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 4 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 5 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1"
unset key
set title "tanh d=512 B=8 ρ=0.8 sym s=0.05" font ",9"
set ylabel "relative error ‖g − g*‖/‖g*‖"
set logscale y
set format y "10^{%L}"
plot "cosine-k.dat" index 6 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 7 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 8 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 9 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 10 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 11 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1"
unset key
set title "tanh d=512 B=8 ρ=0.9 sym s=0.05" font ",9"
set ylabel "relative error ‖g − g*‖/‖g*‖"
set logscale y
set format y "10^{%L}"
plot "cosine-k.dat" index 12 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 13 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 14 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 15 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 16 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 17 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1"
unset key
set title "tanh d=512 B=8 ρ=0.95 sym s=0.05" font ",9"
set ylabel "relative error ‖g − g*‖/‖g*‖"
set logscale y
set format y "10^{%L}"
plot "cosine-k.dat" index 18 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 19 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 20 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 21 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 22 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 23 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1"
unset key
set title "tanh d=512 B=8 ρ=0.99 sym s=0.05" font ",9"
set ylabel "relative error ‖g − g*‖/‖g*‖"
set logscale y
set format y "10^{%L}"
plot "cosine-k.dat" index 24 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 25 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 26 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 27 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 28 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 29 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1"
unset key
set title "tanh d=512 B=8 ρ=0.9" font ",9"
set ylabel "relative error ‖g − g*‖/‖g*‖"
set logscale y
set format y "10^{%L}"
plot "cosine-k.dat" index 30 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 31 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 32 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 33 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 34 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 35 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1"
unset key
set title "residual d=64 h=128 B=8 σ=0.1" font ",9"
set ylabel "relative error ‖g − g*‖/‖g*‖"
set logscale y
set format y "10^{%L}"
plot "cosine-k.dat" index 36 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 37 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 38 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 39 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 40 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 41 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1"
unset key
set title "conv1d C=16 h=32 L=32 B=8" font ",9"
set ylabel "relative error ‖g − g*‖/‖g*‖"
set logscale y
set format y "10^{%L}"
plot "cosine-k.dat" index 42 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 43 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 44 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 45 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 46 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 47 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1"
unset key
set title "monotone d=64 B=8 m=0.5" font ",9"
set ylabel "relative error ‖g − g*‖/‖g*‖"
set logscale y
set format y "10^{%L}"
plot "cosine-k.dat" index 48 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#1f77b4" title "phantom λ=0.5", \
     "cosine-k.dat" index 49 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#d62728" title "phantom λ=0.8", \
     "cosine-k.dat" index 50 using 1:5:6:7 with yerrorlines lw 2 dt 1 pt 7 ps 0.8 lc rgb "#2ca02c" title "phantom λ=1", \
     "cosine-k.dat" index 51 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#1f77b4" title "neumann λ=0.5", \
     "cosine-k.dat" index 52 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#d62728" title "neumann λ=0.8", \
     "cosine-k.dat" index 53 using 1:5:6:7 with yerrorlines lw 2 dt 2 pt 6 ps 1.3 lc rgb "#2ca02c" title "neumann λ=1"
unset multiplot
