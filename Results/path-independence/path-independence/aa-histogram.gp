# Histogram of per-example AA scores (every repeat).
if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") { set terminal svg size 1200,560 dynamic enhanced font "sans,11" } else { set terminal pngcairo size 1200,560 enhanced font "sans,10" }
set output "aa-histogram.".fmt
set grid
set style fill transparent solid 0.5
set boxwidth 0.0900
set xlabel "per-example AA score"
set ylabel "examples (all repeats)"
set key outside right top font ",9"
set xrange [-1:1.02]
set title "path-independence: per-example asymptotic alignment"
plot "aa-histogram.dat" index 0 using 1:2 with boxes title "tanh d=128 B=16 ρ=0.9 · forward", \
     "aa-histogram.dat" index 1 using 1:2 with boxes title "tanh d=128 B=16 ρ=0.9 · anderson", \
     "aa-histogram.dat" index 2 using 1:2 with boxes title "tanh d=128 B=16 ρ=0.99 · forward", \
     "aa-histogram.dat" index 3 using 1:2 with boxes title "tanh d=128 B=16 ρ=0.99 · anderson", \
     "aa-histogram.dat" index 4 using 1:2 with boxes title "tanh d=128 B=16 ρ=1.5 sym s=0.05 · forward", \
     "aa-histogram.dat" index 5 using 1:2 with boxes title "tanh d=128 B=16 ρ=1.5 sym s=0.05 · anderson", \
     "aa-histogram.dat" index 6 using 1:2 with boxes title "tanh d=128 B=16 ρ=3 sym s=0.05 · forward", \
     "aa-histogram.dat" index 7 using 1:2 with boxes title "tanh d=128 B=16 ρ=3 sym s=0.05 · anderson", \
     "aa-histogram.dat" index 8 using 1:2 with boxes title "residual d=64 h=128 B=16 · forward", \
     "aa-histogram.dat" index 9 using 1:2 with boxes title "residual d=64 h=128 B=16 · anderson", \
     "aa-histogram.dat" index 10 using 1:2 with boxes title "conv2d C=16 h=32 H=8 W=8 B=8 · forward", \
     "aa-histogram.dat" index 11 using 1:2 with boxes title "conv2d C=16 h=32 H=8 W=8 B=8 · anderson", \
     "aa-histogram.dat" index 12 using 1:2 with boxes title "monotone d=64 B=16 · forward", \
     "aa-histogram.dat" index 13 using 1:2 with boxes title "monotone d=64 B=16 · anderson"
