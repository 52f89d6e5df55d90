# Power-iteration ρ(J) and Hutchinson ‖J‖_F² against the exact values (dense J, LAPACK).
if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") { set terminal svg size 1200,540 dynamic enhanced font "sans,11" } else { set terminal pngcairo size 1200,540 enhanced font "sans,10" }
set output "estimates.".fmt
set grid
set multiplot layout 1,2 title "jacobian-diagnostics: Jacobian estimates against exact values"
set key top left font ",9"
set xlabel "exact ρ(J)"
set ylabel "power-iteration ρ(J)"
plot "samples.dat" using 2:1 with points pt 7 ps 0.8 title "samples", x with lines dt 2 lc rgb "gray40" title "y = x"
set logscale xy
set xlabel "exact ‖J‖_F²"
set ylabel "Hutchinson ‖J‖_F² (± 2 s.e.)"
plot "samples.dat" using 5:3:(2*$4) with yerrorbars pt 7 ps 0.6 title "samples, M = 32", x with lines dt 2 lc rgb "gray40" title "y = x"
unset multiplot
