# Residual against iterations, evaluations and time for conv1d C=16 h=32 L=32 B=8.
# Render: gnuplot -e "fmt='svg'" c007.gp   (png by default)
if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") { set terminal svg size 1500,460 dynamic enhanced font "sans,11" } else { set terminal pngcairo size 1500,460 enhanced font "sans,10" }
set output "c007.".fmt
set grid
set logscale y
set format y "10^{%L}"
set ylabel "relative residual ‖f(z)−z‖/‖f(z)‖"
set multiplot layout 1,3 title "phantom-gradient: conv1d C=16 h=32 L=32 B=8"
set key top right font ",9"
set xlabel "iteration"
plot "c007.dat" index 0 using 1:5 with lines lw 2 lc 1 dt 1 title "broyden", \
     1e-10 with lines dt 2 lc rgb "gray40" title "tol"
set key top right font ",9"
set xlabel "f evaluations (nfe)"
plot "c007.dat" index 0 using 2:5 with lines lw 2 lc 1 dt 1 title "broyden", \
     1e-10 with lines dt 2 lc rgb "gray40" title "tol"
set key top right font ",9"
set xlabel "seconds"
plot "c007.dat" index 0 using 3:5 with lines lw 2 lc 1 dt 1 title "broyden", \
     1e-10 with lines dt 2 lc rgb "gray40" title "tol"
unset multiplot
